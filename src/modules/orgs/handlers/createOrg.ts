import type { Handler } from '../../handler';

export const createOrg: Handler<'createOrg'> = async ({ services, body }) => ({
  status: 201,
  body: await services.orgs.create(body.name, body.plan ?? 'free'),
});
