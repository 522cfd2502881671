import { ApiError } from '../../errors/api-error';

/** 429 with Retry-After, under its own code: the caller did nothing too often, this instance is full. */
class WaitsExhaustedError extends ApiError {
  readonly status = 429;
  readonly kind = 'rate_limited';
  constructor() {
    super('Too many approvals are being waited for; retry in 1 second.', 'APPROVAL_WAITS_EXHAUSTED');
    this.headers['Retry-After'] = '1';
  }
}

/**
 * The long-polls this process holds: bounded in all and per org, so waiting clients cannot pile
 * up without limit (none holds a database connection while it sleeps), and woken by id when a
 * decision is made here or announced by the database.
 */
export class ApprovalWaits {
  private total = 0;
  private readonly perOrg = new Map<string, number>();
  private readonly wakers = new Map<string, Set<() => void>>();

  constructor(private readonly limits: { maxWaits: number; maxWaitsPerOrg: number }) {}

  /** Takes a slot for the org, or refuses with 429; the returned function gives it back. */
  enter(orgId: string): () => void {
    const held = this.perOrg.get(orgId) ?? 0;
    if (this.total >= this.limits.maxWaits || held >= this.limits.maxWaitsPerOrg) throw new WaitsExhaustedError();
    this.total++;
    this.perOrg.set(orgId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perOrg.get(orgId) ?? 1) - 1;
      if (left === 0) this.perOrg.delete(orgId);
      else this.perOrg.set(orgId, left);
    };
  }

  /** Calls `wake` whenever `wake(id)` or `wake(null)` is; returns the unsubscribe. */
  subscribe(id: string, wake: () => void): () => void {
    const set = this.wakers.get(id) ?? new Set();
    this.wakers.set(id, set);
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.wakers.delete(id);
    };
  }

  /** Wakes the waits on `id`, or every wait when null (news may have been missed). */
  wake(id: string | null): void {
    const sets = id === null ? [...this.wakers.values()] : [this.wakers.get(id) ?? new Set<() => void>()];
    for (const set of sets) for (const wake of set) wake();
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
