import type { Logger } from 'pino';
import type { components, operations } from '../../../generated/api';
import { AuditChain, GENESIS, hashedFields, PLATFORM_CHAIN } from '../../audit/audit-chain';
import type { NewAuditEvent } from '../../audit/audit-event';
import { type AuditEventRow, AuditStore, type ExportFilters } from '../../audit/audit-store';
import { ChainHasher } from '../../audit/chain-hasher';
import { ChainWalk } from '../../audit/chain-walk';
import type { Principal } from '../../auth/principal';
import type { SigningKey } from '../../auth/signing-key';
import type { Db } from '../../db/db';
import { BadRequestError, ForbiddenError } from '../../errors/api-error';
import { canonicalJson } from '../../lib/canonical-json';
import { ConcurrencyLimit } from '../../lib/concurrency-limit';
import type { OrgService } from '../orgs';

type AuditEvent = components['schemas']['AuditEvent'];

/** Events of no org are kept a year. */
const PLATFORM_RETENTION_DAYS = 365;
/** How many events one COPY of verification reads: rows streamed after a break are read, not hashed. */
const VERIFY_RANGE = 100_000;
/** Chains at least this long are hashed on a second thread (see ChainHasher). */
const PARALLEL_HASHING_FROM = 20_000;
const EXPORT_BATCH = 1000;

/**
 * A verification holds one pooled connection while its chain streams in; however many callers
 * (of any org) verify at once, only this many connections go to it, and the rest of the API keeps
 * the pool.
 */
const CHAIN_STREAMS = new ConcurrencyLimit(2);

export type ChainVerdict = operations['verifyAuditChain']['responses']['200']['content']['application/json'];
type Page = ExportFilters & { limit: number; cursor?: string };

const toAuditEvent = (row: AuditEventRow): AuditEvent => ({
  ...hashedFields(row),
  prev_hash: row.prev_hash.toString('hex'),
  hash: row.hash.toString('hex'),
});

/**
 * Reading the audit log (list, export, verify, an agent's trail) and its retention; the writing
 * is the kernel's AuditChain, which `append` and `record` hand events to.
 */
export class AuditService {
  private readonly store: AuditStore;
  private readonly chain: AuditChain;

  constructor(
    private readonly db: Db,
    private readonly signingKey: SigningKey,
    private readonly orgs: Pick<OrgService, 'scope'>,
    logger?: Pick<Logger, 'error'>,
  ) {
    this.store = new AuditStore(db);
    this.chain = new AuditChain(db, (chain, error) =>
      logger?.error(
        { chain, err_message: error.message },
        'audit events committed but not chained yet: the next chainer or sweep takes them',
      ),
    );
  }

  /**
   * Chains the events a crash or a failed chaining left waiting for over `minAgeSeconds` (younger
   * ones are normally being chained); how many chains had some.
   */
  sweepPending(minAgeSeconds = 0): Promise<number> {
    return this.chain.sweepPending(minAgeSeconds);
  }

  /** Resolves once every event committed so far is chained: in `chain`, or in every chain. */
  settled(chain?: string): Promise<void> {
    return this.chain.settled(chain);
  }

  /** Appends inside the caller's transaction: the event commits or rolls back with the change. */
  append(event: NewAuditEvent): Promise<void> {
    return this.chain.append(event);
  }

  /** Chains the events in the caller's transaction at once, holding their chains until the commit (AuditChain.appendChained). */
  appendChained(events: NewAuditEvent[]): Promise<void> {
    return this.chain.appendChained(events);
  }

  /** A security event of its own (a failed login, a plan denial), committed on its own. */
  record(event: NewAuditEvent): Promise<void> {
    return this.chain.record(event);
  }

  /**
   * The chain a request reads: the platform chain for a platform admin session that names it (the
   * events of no org have no org credential to read them with), else the org the caller may act on.
   */
  async chainOf(principal: Principal, requested: string | undefined): Promise<string> {
    if (requested !== PLATFORM_CHAIN) return this.orgs.scope(principal, requested);
    if (principal.kind !== 'admin_session') {
      throw new ForbiddenError(
        'Only a platform admin session may read the platform chain (the events of no org).',
        'PLATFORM_ADMIN_REQUIRED',
      );
    }
    return PLATFORM_CHAIN;
  }

  /** A page of the events of the chain the caller names (or of its own org), newest first. */
  async list(principal: Principal, requested: string | undefined, filters: Page) {
    return this.page(await this.chainOf(principal, requested), filters);
  }

  /** The chain the caller names, verified. */
  async verify(principal: Principal, requested: string | undefined): Promise<ChainVerdict> {
    return this.verifyChain(await this.chainOf(principal, requested));
  }

  /** The events of the chain the caller names, in chain order; the caller's right to it is checked before the first is read. */
  async export(principal: Principal, requested: string | undefined, filters: ExportFilters): Promise<AsyncGenerator<AuditEvent>> {
    return this.events(await this.chainOf(principal, requested), filters);
  }

  /** A page of a chain's events, newest first, by the filters. */
  async page(chain: string, filters: Page) {
    await this.chain.settled(chain);
    const rows = await this.store.page(chain, filters, decodeSeqCursor(filters.cursor), filters.limit + 1);
    const hasMore = rows.length > filters.limit;
    const page = hasMore ? rows.slice(0, filters.limit) : rows;
    return {
      events: page.map(toAuditEvent),
      has_more: hasMore,
      next_cursor: hasMore ? Buffer.from(`seq_${page[page.length - 1]!.seq}`).toString('base64url') : null,
    };
  }

  /**
   * The trail of some subjects (events whose resource or actor is one of them): per action, the
   * count and the first and last time, and the newest `recent` events.
   */
  async trailOf(orgId: string, subjects: string[], recent: number) {
    await this.chain.settled(orgId);
    const byAction = await this.store.tallyAbout(orgId, subjects);
    const rows = await this.store.newestAbout(orgId, subjects, recent);
    return { byAction, recent: rows.map(toAuditEvent) };
  }

  /**
   * Events in chain order, read a batch at a time by seq, so an export of any size holds one
   * batch in memory; the consumer's pace (stream backpressure) sets the pace of the reads.
   */
  private async *events(chain: string, filters: ExportFilters): AsyncGenerator<AuditEvent> {
    await this.chain.settled(chain);
    let after = '0';
    for (;;) {
      const rows = await this.store.after(chain, filters, after, EXPORT_BATCH);
      for (const row of rows) yield toAuditEvent(row);
      if (rows.length < EXPORT_BATCH) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /**
   * Walks the chain in seq order, `range` events per COPY, and reports the first break. The head,
   * the checkpoint and the events are read in one snapshot; the checkpoint's signature is checked
   * after it closes (loading the key may need a connection, and the embedded database has one).
   */
  async verifyChain(orgId: string, range = VERIFY_RANGE, parallelFrom = PARALLEL_HASHING_FROM): Promise<ChainVerdict> {
    await this.chain.settled(orgId);
    const { head, checkpointRow, walk } = await CHAIN_STREAMS.run(() =>
      this.store.snapshot(async (snapshot) => {
        const head = await snapshot.head(orgId);
        const checkpointRow = await snapshot.checkpoint(orgId);
        // A retention purge removed everything up to the checkpoint; the walk starts after it.
        const start = checkpointRow ? Number(checkpointRow.seq) + 1 : 1;
        // A thread of its own hashes long chains while this one parses; for a short one, starting it costs more than it saves.
        const hasher = head && Number(head.seq) - start >= parallelFrom ? new ChainHasher() : undefined;
        const walk = new ChainWalk(start, checkpointRow ? checkpointRow.hash : GENESIS, hasher);
        // The events stream in as binary COPY data and are hashed as they arrive (the server fills
        // the socket meanwhile); rows after a break are skipped; a short range is the chain's end.
        try {
          do {
            walk.reset();
            await snapshot.copy(orgId, walk.expected, range, (chunk) => walk.push(chunk));
          } while (!walk.broken && walk.rowsRead === range);
        } finally {
          await walk.finish();
        }
        return { head, checkpointRow, walk };
      }),
    );
    const headSeq = head ? Number(head.seq) : 0;
    const checkpoint = checkpointRow
      ? {
          seq: Number(checkpointRow.seq),
          hash: checkpointRow.hash.toString('hex'),
          cut_at: checkpointRow.cut_at.toISOString(),
          key_id: checkpointRow.key_id,
        }
      : null;
    const start = checkpoint ? checkpoint.seq + 1 : 1;
    const verdict = (broken: { seq: number; reason: 'edited' | 'deleted' | 'reordered' } | null, checked: number): ChainVerdict => ({
      valid: broken === null,
      org_id: orgId,
      events_checked: checked,
      head_seq: headSeq,
      first_broken_seq: broken?.seq ?? null,
      reason: broken?.reason ?? null,
      checkpoint,
    });
    if (checkpoint && !(await this.signingKey.verify(checkpointMessage(orgId, checkpoint), checkpointRow!.signature, checkpoint.key_id))) {
      return verdict({ seq: checkpoint.seq, reason: 'edited' }, 0);
    }
    const checked = walk.expected - start;
    if (walk.broken) return verdict(walk.broken, checked);
    if (walk.expected - 1 < headSeq) return verdict({ seq: walk.expected, reason: 'deleted' }, checked);
    if (head && !walk.prevHash.equals(head.hash)) return verdict({ seq: headSeq, reason: 'edited' }, checked);
    return verdict(null, checked);
  }

  /**
   * Deletes every chain's events older than its retention (`orgRetentionDays`, from OrgService.auditRetentionDays;
   * a year for the platform chain). At the cut it stores the last deleted event's seq and hash,
   * signed, so what remains still verifies from there. Returns how many events each chain lost.
   */
  async purgeExpired(orgRetentionDays: Map<string, number>, now = new Date()): Promise<Record<string, number>> {
    const retention = new Map<string, number>([[PLATFORM_CHAIN, PLATFORM_RETENTION_DAYS], ...orgRetentionDays]);
    const purged: Record<string, number> = {};
    // Loaded before any transaction: a first load reads the database on a connection of its own.
    await this.signingKey.jwk();
    for (const [chain, days] of retention) {
      const cutoff = new Date(now.getTime() - days * 86_400_000);
      const deleted = await this.db.transaction(async () => {
        await this.store.lockHead(chain);
        const cut = await this.store.lastBefore(chain, cutoff);
        if (!cut) return 0;
        const checkpoint = { seq: Number(cut.seq), hash: cut.hash.toString('hex'), cut_at: now.toISOString() };
        const { signature, keyId } = await this.signingKey.sign(checkpointMessage(chain, checkpoint));
        await this.store.saveCheckpoint({ org_id: chain, seq: checkpoint.seq, hash: cut.hash, cut_at: now, key_id: keyId, signature });
        return this.store.deleteThrough(chain, cut.seq);
      });
      if (deleted > 0) purged[chain] = deleted;
    }
    return purged;
  }
}

/**
 * The signed bytes of a checkpoint: the RFC 8785 JSON of {org_id, seq, hash, cut_at}. The key id
 * travels beside the signature, not inside what is signed.
 */
function checkpointMessage(orgId: string, checkpoint: { seq: number; hash: string; cut_at: string }): Buffer {
  return Buffer.from(canonicalJson({ org_id: orgId, seq: checkpoint.seq, hash: checkpoint.hash, cut_at: checkpoint.cut_at }), 'utf8');
}

function decodeSeqCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const match = /^seq_(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) {
    throw new BadRequestError('The cursor is not one Warden gave out; pass next_cursor from the previous page.', 'INVALID_CURSOR', [
      { location: 'query', field: 'cursor', message: 'is not a valid cursor', rule: 'format' },
    ]);
  }
  return match[1]!;
}
