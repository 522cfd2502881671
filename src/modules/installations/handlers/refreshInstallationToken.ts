import { requestFactsOf } from '../../audit/audit-service';
import type { Handler } from '../../handler';

export const refreshInstallationToken: Handler<'refreshInstallationToken'> = async ({ services, params, body, req }) => ({
  status: 200,
  body: await services.installations.refresh(params.id, body.refresh_token, requestFactsOf(req)),
});
