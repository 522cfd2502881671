import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const startMagicLink: Handler<'startMagicLink'> = async ({ services, body, req }) => ({
  status: 200,
  body: await services.auth.startMagicLink(body.email, body.redirect_url, requestFactsOf(req)),
});
