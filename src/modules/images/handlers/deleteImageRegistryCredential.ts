import type { Handler } from '../../handler';

export const deleteImageRegistryCredential: Handler<'deleteImageRegistryCredential'> = async ({ services, principal, params }) => {
  await services.images.deleteCredential(principal, params.id);
  return { status: 204, body: undefined };
};
