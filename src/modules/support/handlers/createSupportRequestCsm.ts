import type { Handler } from '../../handler';

export const createSupportRequestCsm: Handler<'createSupportRequestCsm'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.support.open(principal, 'csm', body),
});
