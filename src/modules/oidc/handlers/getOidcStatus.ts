import type { Handler } from '../../handler';

export const getOidcStatus: Handler<'getOidcStatus'> = async ({ services }) => ({ status: 200, body: services.oidc.status() });
