import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const signup: Handler<'signup'> = async ({ services, body, req }) => ({ status: 201, body: await services.auth.signup(body, requestFactsOf(req)) });
