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
 * The long-polls this process holds: bounded in all, per org and per agent, so waiting clients cannot pile
 * up without limit (none holds a database connection while it sleeps), and woken by id when a
 * decision is made here or announced by the database.
 */
export class ApprovalWaits {
  private total = 0;
  /** Slots held by each org (`org:…`) and each waiting agent (`agent:…`). */
  private readonly held = new Map<string, number>();
  private readonly wakers = new Map<string, Set<() => void>>();

  constructor(private readonly limits: { maxWaits: number; maxWaitsPerOrg: number }) {}

  /**
   * Takes a slot for the org (and for the agent, when an agent waits), or refuses with 429; the
   * returned function gives it back. An agent may hold a quarter of its org's slots, so one agent
   * cannot keep its org's people and other agents from waiting.
   */
  enter(orgId: string, agentId: string | null): () => void {
    const holders = agentId === null ? [`org:${orgId}`] : [`org:${orgId}`, `agent:${agentId}`];
    const agentLimit = Math.max(1, Math.ceil(this.limits.maxWaitsPerOrg / 4));
    const full = holders.some(
      (holder) => (this.held.get(holder) ?? 0) >= (holder.startsWith('agent:') ? agentLimit : this.limits.maxWaitsPerOrg),
    );
    if (this.total >= this.limits.maxWaits || full) throw new WaitsExhaustedError();
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
