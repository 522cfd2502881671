import { requestFactsOf } from '../../../audit/audit-event';
import { linkResponse } from './link-response';
import type { Handler } from '../../handler';

export const completeMagicLink: Handler<'completeMagicLink'> = async ({ services, query, req }) =>
  linkResponse<'completeMagicLink'>(await services.auth.completeLink('magic_link', query.token, requestFactsOf(req)));
