import { ApiError } from '../errors/api-error';
import type { ErrorCode } from '../errors/codes';

/** 429 with Retry-After, under the waiting operation's own code: the caller did nothing too often, this instance is full. */
class WaitsExhaustedError extends ApiError {
  readonly status = 429;
  readonly kind = 'rate_limited';
  constructor(message: string, code: ErrorCode) {
    super(message, code);
    this.headers['Retry-After'] = '1';
  }
}

/**
 * The long-polls one process holds, counted so that waiting clients cannot pile up without limit
 * (none holds a database connection while it sleeps): bounded in all, per org, and per agent, which
 * may hold a quarter of its org's slots so that one agent cannot keep the rest of its org waiting.
 */
export class WaitSlots {
  private total = 0;
  /** Slots held by each org (`org:…`) and each waiting agent (`agent:…`). */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly limits: { maxWaits: number; maxWaitsPerOrg: number },
    /** The 429 a caller gets when the slots are taken. */
    private readonly exhausted: { message: string; code: ErrorCode },
  ) {}

  /** Takes a slot for the org (and for the agent, when an agent waits), or refuses with 429; the returned function gives it back. */
  enter(orgId: string, agentId: string | null): () => void {
    const holders = agentId === null ? [`org:${orgId}`] : [`org:${orgId}`, `agent:${agentId}`];
    const agentLimit = Math.max(1, Math.ceil(this.limits.maxWaitsPerOrg / 4));
    const full = holders.some(
      (holder) => (this.held.get(holder) ?? 0) >= (holder.startsWith('agent:') ? agentLimit : this.limits.maxWaitsPerOrg),
    );
    if (this.total >= this.limits.maxWaits || full) throw new WaitsExhaustedError(this.exhausted.message, this.exhausted.code);
    this.total++;
    for (const holder of holders) this.held.set(holder, (this.held.get(holder) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      for (const holder of holders) {
        const left = (this.held.get(holder) ?? 1) - 1;
        if (left === 0) this.held.delete(holder);
        else this.held.set(holder, left);
      }
    };
  }
}

/** Wake-up calls by key: a waiter subscribes under a key, news for the key (or for all, when news may have been missed) rings it. */
export class Wakers<News> {
  private readonly wakers = new Map<string, Set<(news: News | null) => void>>();

  /** Calls `wake` with the news of every `wake(key, …)`, and with null on `wakeAll()`; returns the unsubscribe. */
  subscribe(key: string, wake: (news: News | null) => void): () => void {
    const set = this.wakers.get(key) ?? new Set();
    this.wakers.set(key, set);
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.wakers.delete(key);
    };
  }

  wake(key: string, news: News): void {
    for (const wake of this.wakers.get(key) ?? []) wake(news);
  }

  wakeAll(): void {
    for (const set of this.wakers.values()) for (const wake of set) wake(null);
  }
}

/**
 * Sleeps until the first of: `ms` pass, `alarm.ring()` is called (also if it was called since the
 * last sleep), or `signal` aborts.
 */
export class Alarm {
  private rung = false;
  private resolve: (() => void) | undefined;

  ring = (): void => {
    this.rung = true;
    this.resolve?.();
  };

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.rung || signal?.aborted) {
      this.rung = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.resolve = undefined;
        this.rung = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.resolve = done;
    });
  }
}
