import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const createTrustHeaders: Handler<'createTrustHeaders'> = async ({ services, principal, body, req }) => ({
  status: 200,
  body: await services.trust.headers(principal, body, requestFactsOf(req)),
});
