import type { Handler } from '../../handler';

export const rotateVendorCredential: Handler<'rotateVendorCredential'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.vendors.rotateCredential(principal, params.id, body.api_key),
});
