import type { Handler } from '../../handler';

export const getMe: Handler<'getMe'> = async ({ services, principal }) => ({ status: 200, body: await services.auth.profile(principal) });
