import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const startEmailVerification: Handler<'startEmailVerification'> = async ({ services, principal, body, req }) => ({
  status: 200,
  body: await services.auth.startEmailVerification(principal, body?.redirect_url, requestFactsOf(req)),
});
