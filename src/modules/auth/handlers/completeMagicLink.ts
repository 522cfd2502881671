import { linkResponse } from './link-response';
import type { Handler } from '../../handler';

export const completeMagicLink: Handler<'completeMagicLink'> = async ({ services, query }) =>
  linkResponse<'completeMagicLink'>(await services.auth.completeLink('magic_link', query.token));
