import type { Handler } from '../../handler';

export const setOrgPlan: Handler<'setOrgPlan'> = async ({ services, params, body }) => ({
  status: 200,
  body: await services.orgs.setPlan(params.org_id, body.plan),
});
