import type { Handler } from '../../handler';

export const signup: Handler<'signup'> = async ({ services, body }) => ({ status: 201, body: await services.auth.signup(body) });
