import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { ApiKeyRateLimit, RateLimitRule, RateLimits } from '../config/config';
import { RateLimitedError } from '../errors/api-error';
import { Batcher } from '../lib/batcher';
import type { Principal } from './principal';
import { type KeyWindowHits, RateLimitStore } from './rate-limit-store';

const KEY_WINDOW_MS = 60_000;
/** Key windows written to Postgres in one statement, at most. */
const KEY_SYNC_BATCH = 500;

/** One API key's count in the current minute, as this instance knows it. */
interface KeyWindow {
  keyId: string;
  start: number;
  /** The shared count in Postgres when this instance last wrote (its own hits included). */
  shared: number;
  /** Admitted here and being written now. */
  writing: number;
  /** Admitted here since. */
  pending: number;
  syncedAt: number;
}

/**
 * Fixed-window counters kept in Postgres, so every Warden instance counts against the same
 * limit: one upsert per subject (the client IP, the email when the body names one, and the
 * caller's org on authenticated operations).
 */
export class RateLimiter {
  private readonly store: RateLimitStore;
  private readonly keyWindows = new Map<string, KeyWindow>();
  private readonly keySync: Batcher<KeyWindow>;
  private keyWindowsSwept = 0;

  constructor(
    dataSource: DataSource,
    private readonly limits: RateLimits,
    private readonly apiKeyLimit: ApiKeyRateLimit,
    private readonly logger: Logger,
  ) {
    this.store = new RateLimitStore(dataSource);
    this.keySync = new Batcher((windows) => this.syncKeyWindows(windows), KEY_SYNC_BATCH);
  }

  /**
   * Counts a request made with an API key against the key's budget per minute and returns the
   * `RateLimit-Policy`/`RateLimit` headers (IETF httpapi draft); over budget it throws 429 with
   * them and `Retry-After`. Counting happens in memory, so the request waits for no database:
   * each key's increments are added to its shared row in `rate_limit_hits` at most every `syncMs`
   * (many keys per statement), and that write returns the count of every instance. Alone an
   * instance counts exactly; with several, each one lags the others by at most `syncMs` plus a
   * write, so a key can be over-admitted by what the other instances admit in that time.
   */
  admitApiKey(principal: Principal, now = Date.now()): Record<string, string> {
    const limit = principal.rateLimitPerMinute ?? this.apiKeyLimit.perMinute;
    const start = Math.floor(now / KEY_WINDOW_MS) * KEY_WINDOW_MS;
    if (start !== this.keyWindowsSwept) this.sweepKeyWindows(start);
    const keyId = principal.apiKeyId!;
    let window = this.keyWindows.get(keyId);
    if (!window || window.start !== start) {
      window = { keyId, start, shared: 0, writing: 0, pending: 0, syncedAt: 0 };
      this.keyWindows.set(keyId, window);
    }
    const used = window.shared + window.writing + window.pending;
    const reset = Math.max(1, Math.ceil((start + KEY_WINDOW_MS - now) / 1000));
    const headers = {
      'RateLimit-Policy': `"api-key";q=${limit};w=${KEY_WINDOW_MS / 1000}`,
      RateLimit: `"api-key";r=${Math.max(0, limit - used - 1)};t=${reset}`,
    };
    if (used >= limit) {
      const refusal = new RateLimitedError(reset);
      Object.assign(refusal.headers, headers, { RateLimit: `"api-key";r=0;t=${reset}` });
      throw refusal;
    }
    window.pending += 1;
    if (window.writing === 0 && now - window.syncedAt >= this.apiKeyLimit.syncMs) this.syncKeyWindow(window, now);
    return headers;
  }

  private syncKeyWindow(window: KeyWindow, now: number): void {
    window.writing = window.pending;
    window.pending = 0;
    window.syncedAt = now;
    this.keySync.add(window).catch((error: unknown) => {
      // The hits stay counted here and go with the next write.
      window.pending += window.writing;
      window.writing = 0;
      this.logger.warn(
        { err_message: error instanceof Error ? error.message : String(error), api_key_id: window.keyId },
        'Could not share API key rate-limit counts',
      );
    });
  }

  private async syncKeyWindows(windows: KeyWindow[]): Promise<void> {
    const hits: KeyWindowHits[] = windows.map((window) => ({
      subject: window.keyId,
      windowStart: new Date(window.start),
      hits: window.writing,
    }));
    const totals = await this.store.addKeyHits(hits);
    windows.forEach((window, index) => {
      // The total counts this write's hits, so they leave `writing` as they join `shared`.
      window.shared = totals[index]!;
      window.writing = 0;
    });
  }

  /** Forgets the keys whose window has ended and that are not being written, once a window. */
  private sweepKeyWindows(start: number): void {
    this.keyWindowsSwept = start;
    for (const [keyId, window] of this.keyWindows) {
      if (window.start < start && window.writing === 0) this.keyWindows.delete(keyId);
    }
  }

  /**
   * Counts one request against every limit of the bucket and returns the `RateLimit-*` headers
   * of the tightest one (fewest requests left, then the longest wait), which the answer carries
   * whether it succeeds or not. Over any limit it throws 429 with those headers and `Retry-After`.
   */
  async hit(bucket: string, subjects: { ip: string; email?: string; org?: string | null }): Promise<Record<string, string>> {
    const rules = this.limits[bucket];
    if (!rules) throw new Error(`No rate limits are configured for the x-rate-limit bucket '${bucket}'`);
    const checks: Array<[string, RateLimitRule, RateLimitedError['firstOver'][number]['subject']]> = [
      [`ip:${subjects.ip}`, rules.perIp, 'ip'],
    ];
    if (subjects.email && rules.perEmail) checks.push([`email:${subjects.email.toLowerCase()}`, rules.perEmail, 'email']);
    if (subjects.org && rules.perOrg) checks.push([`org:${subjects.org}`, rules.perOrg, 'org']);
    let retryAfter = 0;
    const firstOver: RateLimitedError['firstOver'] = [];
    let tightest: { limit: number; remaining: number; reset: number } | undefined;
    for (const [subject, rule, kind] of checks) {
      const windowMs = rule.windowSeconds * 1000;
      const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
      const hits = await this.store.hit(bucket, subject, new Date(windowStart));
      const reset = Math.max(1, Math.ceil((windowStart + windowMs - Date.now()) / 1000));
      const remaining = Math.max(0, rule.limit - hits);
      if (hits > rule.limit) retryAfter = Math.max(retryAfter, reset);
      // The count is shared by every instance, so exactly one request is the first over it.
      if (hits === rule.limit + 1) firstOver.push({ subject: kind, limit: rule.limit, window_seconds: rule.windowSeconds });
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
      const refusal = new RateLimitedError(retryAfter, undefined, firstOver);
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
