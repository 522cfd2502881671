import type { Handler } from '../../handler';
import { linkResponse } from './link-response';

export const completeEmailVerification: Handler<'completeEmailVerification'> = async ({ services, query }) =>
  linkResponse<'completeEmailVerification'>(await services.auth.completeLink('email_verification', query.token));
