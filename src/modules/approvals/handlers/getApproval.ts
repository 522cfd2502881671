import { disconnection } from '../../../binding/disconnection';
import type { Handler } from '../../handler';

export const getApproval: Handler<'getApproval'> = async ({ services, principal, params, query, req }) => ({
  status: 200,
  body: await services.approvals.get(principal, params.id, { seconds: query.wait ?? 0, signal: disconnection(req) }),
});
