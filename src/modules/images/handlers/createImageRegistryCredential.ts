import type { Handler } from '../../handler';

export const createImageRegistryCredential: Handler<'createImageRegistryCredential'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.images.createCredential(principal, body),
});
