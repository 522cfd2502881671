import { createHash } from 'node:crypto';
import type { components } from '../../generated/api';
import type { Db } from '../db/db';
import { newId } from '../db/ids';
import { Batcher } from '../lib/batcher';
import { canonicalJson } from '../lib/canonical-json';
import type { NewAuditEvent } from './audit-event';
import { type AuditEventRow, AuditStore } from './audit-store';

type AuditEvent = components['schemas']['AuditEvent'];
export type HashedFields = Omit<AuditEvent, 'prev_hash' | 'hash'>;

/** The chain of events that belong to no org (e.g. a failed login for an unknown email). */
export const PLATFORM_CHAIN = 'platform';
/** The hash every chain starts from. */
export const GENESIS = Buffer.alloc(32);
/** At most this many queued security events go into one transaction. */
const RECORD_BATCH = 500;
/** At most this many pending events are chained by one statement. */
const PENDING_BATCH = 1000;

/** The hashed fields, exactly as the AuditEvent schema documents: everything but the two hashes. */
export function hashedFields(row: Omit<AuditEventRow, 'prev_hash' | 'hash'>): HashedFields {
  return {
    id: row.id,
    org_id: row.org_id,
    seq: Number(row.seq),
    occurred_at: typeof row.occurred_at === 'string' ? row.occurred_at : row.occurred_at.toISOString(),
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    workspace_id: row.workspace_id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    outcome: row.outcome,
    request_id: row.request_id,
    ip: row.ip,
    user_agent: row.user_agent,
    details: row.details,
  };
}

/**
 * The RFC 8785 canonical JSON of an event's hashed fields, cut where its seq goes: `before + seq +
 * after` is the text chainHash hashes. An event's text is made once, when it is written, and
 * chaining only puts its seq in. The top-level keys are fixed, so they are written in their sorted
 * order directly; `details` goes through the general canonicalizer.
 */
export function canonicalParts(fields: Omit<HashedFields, 'seq'>): [before: string, after: string] {
  const text = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));
  return [
    `{"action":${text(fields.action)},"actor_id":${text(fields.actor_id)},"actor_type":${text(fields.actor_type)},` +
      `"details":${canonicalJson(fields.details)},"id":${text(fields.id)},"ip":${text(fields.ip)},` +
      `"occurred_at":${text(fields.occurred_at)},"org_id":${text(fields.org_id)},"outcome":${text(fields.outcome)},` +
      `"request_id":${text(fields.request_id)},"resource_id":${text(fields.resource_id)},` +
      `"resource_type":${text(fields.resource_type)},"seq":`,
    `,"user_agent":${text(fields.user_agent)},"workspace_id":${text(fields.workspace_id)}}`,
  ];
}

/**
 * SHA-256 of the predecessor's hash and the RFC 8785 canonical JSON of the event's fields. The
 * database computes the same when it chains pending events (audit_chain_pending, migration
 * 1733430000000): sha256(prev_hash || UTF-8 of before || seq || after).
 */
export function chainHash(prevHash: Buffer, fields: HashedFields): Buffer {
  const [before, after] = canonicalParts(fields);
  return createHash('sha256')
    .update(prevHash)
    .update(`${before}${JSON.stringify(fields.seq)}${after}`, 'utf8')
    .digest();
}

/** What writes to the audit log: the access gate and every module that records events. */
export type AuditWriter = Pick<AuditChain, 'append' | 'record'>;

/** A pending event as `audit_pending` keeps it: its canonical text around its seq (canonicalParts). */
export type PendingEvent = [before: string, after: string];

/**
 * The writer of the tamper-evident audit log: per org, events numbered from 1 without gaps, each
 * hash covering its predecessor's. Chaining locks the chain's head row, so concurrent writers on
 * any connection or instance take turns and the chain stays one line.
 */
export class AuditChain {
  private readonly store: AuditStore;
  /** Each chain's group commit of recorded events, while it has some queued or being written. */
  private readonly recorders = new Map<string, Batcher<NewAuditEvent>>();
  /** Each chain's chainer of pending events, while some wait for it. */
  private readonly chainers = new Map<string, Batcher<void>>();

  constructor(
    private readonly db: Db,
    /** Told when chaining fails after a commit: the events wait in `audit_pending` for the next chainer or sweep. */
    private readonly chainingFailed: (chain: string, error: Error) => void = () => undefined,
  ) {
    this.store = new AuditStore(db);
  }

  /**
   * Writes the event in the caller's transaction (it commits or rolls back with the change) without
   * taking the chain's lock, and chains it right after the commit without the caller waiting: the
   * event is durable with its change, and no operation holds the chain, or waits for a second
   * commit, to answer. Every read of the log first chains what is pending (`settled`), so a reader
   * never sees the log short of an event whose change it can see.
   */
  async append(event: NewAuditEvent): Promise<void> {
    const chain = event.orgId ?? PLATFORM_CHAIN;
    await this.store.insertPending(chain, [pendingEvent(chain, event, new Date())]);
    this.db.afterCommit(() => void this.chainPending(chain).catch((error: Error) => this.chainingFailed(chain, error)));
  }

  /**
   * Chains events in the caller's transaction at once, each chain's head locked until the commit:
   * for a writer that gathers many events in one transaction already (a batch of job claims), two
   * statements per chain, where appending costs a statement per event and a chaining after.
   */
  async appendChained(events: NewAuditEvent[]): Promise<void> {
    // Outside a transaction the events would be chained apart from the change they record.
    if (!this.db.inTransaction) throw new Error('appendChained runs inside a transaction');
    const occurredAt = new Date();
    const byChain = new Map<string, PendingEvent[]>();
    for (const event of events) {
      const chain = event.orgId ?? PLATFORM_CHAIN;
      const pending = byChain.get(chain) ?? [];
      pending.push(pendingEvent(chain, event, occurredAt));
      byChain.set(chain, pending);
    }
    // Heads locked in one order, so that two such transactions never wait for each other's.
    for (const chain of [...byChain.keys()].sort()) await this.writeChained(chain, byChain.get(chain)!);
  }

  /** Chains the chain's pending events; resolves once every event pending when it was called is chained. */
  chainPending(chain: string): Promise<void> {
    let chainer = this.chainers.get(chain);
    if (!chainer) {
      chainer = new Batcher<void>(
        () => this.db.detached(() => this.chainAllPending(chain)),
        Number.MAX_SAFE_INTEGER,
        () => this.chainers.delete(chain),
      );
      this.chainers.set(chain, chainer);
    }
    return chainer.add();
  }

  /**
   * Resolves once every event committed before the call is chained, in `chain` or in every chain;
   * rejects if chaining fails. A chainer elsewhere holding the chain's head is waited for.
   */
  async settled(chain?: string): Promise<void> {
    await (chain === undefined ? this.sweepPending(0) : this.chainPending(chain));
  }

  /**
   * Chains the events left pending for over `minAgeSeconds` (a crash, a failed chaining: younger
   * ones are normally on their way), with the rest of their chains; how many chains had some.
   */
  async sweepPending(minAgeSeconds: number): Promise<number> {
    const chains = await this.store.chainsWithPending(minAgeSeconds);
    for (const chain of chains) await this.chainPending(chain);
    return chains.length;
  }

  /**
   * A security event of its own (a failed login, a plan denial), committed on its own. Events
   * recorded while a chain's previous batch commits are queued and appended together in the
   * next transaction (group commit): the head row is locked once per batch instead of per event.
   */
  record(event: NewAuditEvent): Promise<void> {
    const chain = event.orgId ?? PLATFORM_CHAIN;
    let batcher = this.recorders.get(chain);
    if (!batcher) {
      batcher = new Batcher(
        (events: NewAuditEvent[]) => {
          const occurredAt = new Date();
          const pending = events.map((event) => pendingEvent(chain, event, occurredAt));
          return this.db.detached(() => this.db.transaction(() => this.writeChained(chain, pending)));
        },
        RECORD_BATCH,
        () => this.recorders.delete(chain),
      );
      this.recorders.set(chain, batcher);
    }
    return batcher.add(event);
  }

  /** Writes the events as pending and chains them, with whatever else of the chain is pending, in the caller's transaction. */
  private async writeChained(chain: string, events: PendingEvent[]): Promise<void> {
    await this.store.insertPending(chain, events);
    await this.chainAllPending(chain);
  }

  /**
   * Chains the chain's pending events, oldest first, a batch per statement until none is left.
   * The database numbers and hashes them under the head's row lock, in the statement that moves
   * them (audit_chain_pending): nothing is read out to be hashed and written back, and no lock is
   * held across a round trip.
   */
  private async chainAllPending(chain: string): Promise<void> {
    while ((await this.store.chainPending(chain, PENDING_BATCH)) === PENDING_BATCH);
  }
}

/**
 * A `\u` escape that JSON.stringify writes for what PostgreSQL cannot store as text (NUL, an
 * unpaired surrogate), not itself escaped by a preceding backslash.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

/** The event's canonical text short of its seq: everything it is but its place in the chain. */
function pendingEvent(chain: string, event: NewAuditEvent, occurredAt: Date): PendingEvent {
  const fields = {
    id: newId('evt'),
    org_id: chain,
    occurred_at: occurredAt.toISOString(),
    actor_type: event.actor.type,
    actor_id: event.actor.id,
    workspace_id: event.workspaceId ?? null,
    action: event.action,
    resource_type: event.resourceType ?? event.action.split('.')[0]!,
    resource_id: event.resourceId ?? null,
    outcome: event.outcome,
    request_id: event.requestId ?? null,
    ip: event.ip ?? null,
    user_agent: event.userAgent?.slice(0, 512) ?? null,
    details: event.details ?? {},
  };
  // As JSON has them (a Date as its string, undefined left out), which is what is stored and read
  // back; a character PostgreSQL cannot store as text (from an outside system's answer, say)
  // becomes U+FFFD, as it would otherwise fail its chain's every chaining from then on.
  return canonicalParts(JSON.parse(JSON.stringify(fields).replace(UNSTORABLE_ESCAPE, '$1\uFFFD')));
}
