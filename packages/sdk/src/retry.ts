export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 turns retrying off). */
  retries?: number;
  /** The first backoff when Warden sends no Retry-After, doubled on each retry (default 500 ms). */
  baseDelayMs?: number;
  /** The longest wait: a Retry-After beyond it is not waited for, the answer is returned (default 30 s). */
  maxDelayMs?: number;
}

/** Statuses that mean "not done, try again later": rate limited, or a dependency briefly down. */
const RETRYABLE = new Set([429, 503]);

/**
 * fetch that retries 429 and 503 answers, waiting what `Retry-After` asks (seconds or an HTTP
 * date) or an exponential backoff with jitter, within bounds. Warden refuses both before doing
 * any work, so replaying the request, body included, is safe.
 */
export function retryingFetch(options: RetryOptions = {}, base: (input: Request) => Promise<Response> = globalThis.fetch) {
  const retries = options.retries ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  return async (request: Request): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const response = await base(attempt < retries ? request.clone() : request);
      if (!RETRYABLE.has(response.status) || attempt >= retries) return response;
      const backoff = baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
      const wait = retryAfterMs(response.headers.get('retry-after')) ?? backoff;
      if (wait > maxDelayMs) return response;
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
