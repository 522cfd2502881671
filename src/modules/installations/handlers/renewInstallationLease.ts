import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const renewInstallationLease: Handler<'renewInstallationLease'> = async ({ services, principal, params, body, req }) => ({
  status: 200,
  body: await services.installations.lease(principal, params.id, body, requestFactsOf(req)),
});
