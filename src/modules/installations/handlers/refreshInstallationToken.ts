import { ApiError } from '../../../errors/api-error';
import type { Handler } from '../../handler';

/** A detected reuse is answered, not thrown: the family's revocation and its event must commit. */
export const refreshInstallationToken: Handler<'refreshInstallationToken'> = async ({ services, params, body, requestId }) => {
  const outcome = await services.installations.refresh(params.id, body.refresh_token);
  return outcome instanceof ApiError
    ? { status: 401, headers: outcome.headers, body: outcome.toBody(requestId) }
    : { status: 200, body: outcome };
};
