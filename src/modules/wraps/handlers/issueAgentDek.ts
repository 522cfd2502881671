import type { Handler } from '../../handler';

export const issueAgentDek: Handler<'issueAgentDek'> = async ({ services, principal, params }) => ({
  status: 201,
  body: await services.wraps.issueDek(principal, params.id),
});
