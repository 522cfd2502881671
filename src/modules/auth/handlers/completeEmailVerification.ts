import { linkResponse } from './link-response';
import type { Handler } from '../../handler';

export const completeEmailVerification: Handler<'completeEmailVerification'> = async ({ services, query }) =>
  linkResponse<'completeEmailVerification'>(await services.auth.completeLink('email_verification', query.token));
