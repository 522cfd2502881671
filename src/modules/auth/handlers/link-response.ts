import type { HandlerResult } from '../../../binding/handler-types';
import type { LinkOutcome } from '../auth-service';

const NO_STORE: Record<string, string> = { 'Cache-Control': 'no-store' };

/** A followed link: 302 on to the redirect URL (JWT in its fragment), or 200 with the login. */
export function linkResponse<K extends 'completeMagicLink' | 'completeEmailVerification'>(outcome: LinkOutcome): HandlerResult<K> {
  // Both operations document the same 200 and 302, so one result fits either.
  const result: HandlerResult<'completeMagicLink'> = outcome.redirectTo
    ? { status: 302, body: undefined, headers: { ...NO_STORE, Location: outcome.redirectTo } }
    : { status: 200, body: outcome.login, headers: NO_STORE };
  return result as HandlerResult<K>;
}
