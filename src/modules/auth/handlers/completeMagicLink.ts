import type { Handler } from '../../handler';
import { linkResponse } from './link-response';

export const completeMagicLink: Handler<'completeMagicLink'> = async ({ services, query }) =>
  linkResponse<'completeMagicLink'>(await services.auth.completeLink('magic_link', query.token));
