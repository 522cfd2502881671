import type { DataSource } from 'typeorm';
import type { RateLimitRule, RateLimits } from '../config/config';
import { RateLimitedError } from '../errors/api-error';
import { RateLimitStore } from './rate-limit-store';

/**
 * Fixed-window counters kept in Postgres, so every Warden instance counts against the same
 * limit: one upsert per subject (the client IP, the email when the body names one, and the
 * caller's org on authenticated operations).
 */
export class RateLimiter {
  private readonly store: RateLimitStore;

  constructor(
    dataSource: DataSource,
    private readonly limits: RateLimits,
  ) {
    this.store = new RateLimitStore(dataSource);
  }

  /**
   * Counts one request against every limit of the bucket and returns the `RateLimit-*` headers
   * of the tightest one (fewest requests left, then the longest wait), which the answer carries
   * whether it succeeds or not. Over any limit it throws 429 with those headers and `Retry-After`.
   */
  async hit(bucket: string, subjects: { ip: string; email?: string; org?: string | null }): Promise<Record<string, string>> {
    const rules = this.limits[bucket];
    if (!rules) throw new Error(`No rate limits are configured for the x-rate-limit bucket '${bucket}'`);
    const checks: Array<[string, RateLimitRule]> = [[`ip:${subjects.ip}`, rules.perIp]];
    if (subjects.email && rules.perEmail) checks.push([`email:${subjects.email.toLowerCase()}`, rules.perEmail]);
    if (subjects.org && rules.perOrg) checks.push([`org:${subjects.org}`, rules.perOrg]);
    let retryAfter = 0;
    let tightest: { limit: number; remaining: number; reset: number } | undefined;
    for (const [subject, rule] of checks) {
      const windowMs = rule.windowSeconds * 1000;
      const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
      const hits = await this.store.hit(bucket, subject, new Date(windowStart));
      const reset = Math.max(1, Math.ceil((windowStart + windowMs - Date.now()) / 1000));
      const remaining = Math.max(0, rule.limit - hits);
      if (hits > rule.limit) retryAfter = Math.max(retryAfter, reset);
      if (!tightest || remaining < tightest.remaining || (remaining === tightest.remaining && reset > tightest.reset)) {
        tightest = { limit: rule.limit, remaining, reset };
      }
    }
    const headers = {
      'RateLimit-Limit': String(tightest!.limit),
      'RateLimit-Remaining': String(tightest!.remaining),
      'RateLimit-Reset': String(tightest!.reset),
    };
    if (retryAfter > 0) {
      const refusal = new RateLimitedError(retryAfter);
      Object.assign(refusal.headers, headers);
      throw refusal;
    }
    return headers;
  }

  /** Drops windows that ended over a day ago; the server's hourly maintenance calls it, so the table stays small. */
  async prune(): Promise<void> {
    await this.store.deleteWindowsOlderThanADay();
  }
}
