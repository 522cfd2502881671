import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { components, operations } from '../../../generated/api';
import { planNamed } from '../../auth/plans';
import type { SigningKey } from '../../auth/signing-key';
import type { PlanName } from '../../config/config';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { BadRequestError, ForbiddenError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { canonicalJson } from '../../lib/canonical-json';
import { noteBefore } from '../../audit/audited-change';
import type { NewAuditEvent } from '../../audit/audit-event';

type AuditEvent = components['schemas']['AuditEvent'];
type ActorType = AuditEvent['actor_type'];

/** The chain of events that belong to no org (e.g. a failed login for an unknown email). */
export const PLATFORM_CHAIN = 'platform';
const GENESIS = Buffer.alloc(32);
/** Events of no org are kept a year. */
const PLATFORM_RETENTION_DAYS = 365;
const VERIFY_BATCH = 5000;
/**
 * The columns verification reads, with occurred_at formatted by the database exactly as
 * toISOString() would (milliseconds, UTC): parsing a timestamp into a Date costs more in Node
 * than the whole hash of the event.
 */
const VERIFY_COLUMNS = `id, org_id, seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, actor_type,
  actor_id, workspace_id, action, resource_type, resource_id, outcome, request_id, ip, user_agent, details, prev_hash, hash`;
/** How many verification batches are read ahead at once. */
const READ_AHEAD = 3;
const EXPORT_BATCH = 1000;
/** At most this many queued security events go into one transaction. */
const RECORD_BATCH = 500;

/** The seed filters shared by listing, searching and exporting. */
export interface ExportFilters {
  workspace_id?: string;
  actor?: string;
  action?: string;
  resource?: string;
  correlation_id?: string;
  since?: string;
  until?: string;
}

export type ChainVerdict = operations['verifyAuditChain']['responses']['200']['content']['application/json'];

interface EventRow {
  id: string;
  org_id: string;
  seq: string;
  /** A Date, or already its ISO text where the query formats it (verification, to spare parsing). */
  occurred_at: Date | string;
  actor_type: ActorType;
  actor_id: string | null;
  workspace_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  outcome: AuditEvent['outcome'];
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  prev_hash: Buffer;
  hash: Buffer;
}

/** The hashed fields, exactly as the AuditEvent schema documents: everything but the two hashes. */
function hashedFields(row: Omit<EventRow, 'prev_hash' | 'hash'>): Omit<AuditEvent, 'prev_hash' | 'hash'> {
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
 * SHA-256 of the predecessor's hash and the RFC 8785 canonical JSON of the event's fields. The
 * top-level keys are fixed, so they are written in their sorted order directly (this runs once
 * per event in verification); `details` goes through the general canonicalizer.
 */
export function chainHash(prevHash: Buffer, fields: Omit<AuditEvent, 'prev_hash' | 'hash'>): Buffer {
  const text = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));
  const canonical =
    `{"action":${text(fields.action)},"actor_id":${text(fields.actor_id)},"actor_type":${text(fields.actor_type)},` +
    `"details":${canonicalJson(fields.details)},"id":${text(fields.id)},"ip":${text(fields.ip)},` +
    `"occurred_at":${text(fields.occurred_at)},"org_id":${text(fields.org_id)},"outcome":${text(fields.outcome)},` +
    `"request_id":${text(fields.request_id)},"resource_id":${text(fields.resource_id)},"resource_type":${text(fields.resource_type)},` +
    `"seq":${JSON.stringify(fields.seq)},"user_agent":${text(fields.user_agent)},"workspace_id":${text(fields.workspace_id)}}`;
  return createHash('sha256').update(prevHash).update(canonical, 'utf8').digest();
}

const toAuditEvent = (row: EventRow): AuditEvent => ({ ...hashedFields(row), prev_hash: row.prev_hash.toString('hex'), hash: row.hash.toString('hex') });

/**
 * The chain a request reads: the platform chain for a platform admin session that names it (the
 * events of no org have no org credential to read them with), else the org the caller may act on.
 */
export async function chainScope(orgs: Pick<OrgService, 'scope'>, principal: Principal, requested: string | undefined): Promise<string> {
  if (requested !== PLATFORM_CHAIN) return orgs.scope(principal, requested);
  if (principal.kind !== 'admin_session') {
    throw new ForbiddenError('Only a platform admin session may read the platform chain (the events of no org).', 'PLATFORM_ADMIN_REQUIRED');
  }
  return PLATFORM_CHAIN;
}

/**
 * The tamper-evident audit log: per org, events numbered from 1 without gaps, each hash
 * covering its predecessor's. An append locks the chain's head row, so concurrent writers on
 * any connection or instance take turns and the chain stays one line.
 */
export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly signingKey: SigningKey,
  ) {}

  private readonly queued = new Map<string, Array<{ event: NewAuditEvent; settle: (error?: unknown) => void }>>();

  /** Appends inside the caller's transaction: the event commits or rolls back with the change. */
  append(event: NewAuditEvent): Promise<void> {
    return this.db.transaction(() => this.appendMany(event.orgId ?? PLATFORM_CHAIN, [event]));
  }

  /**
   * A security event of its own (a failed login, a plan denial), committed on its own. Events
   * recorded while a chain's previous batch commits are queued and appended together in the
   * next transaction (group commit): the head row is locked once per batch instead of per event.
   */
  record(event: NewAuditEvent): Promise<void> {
    const chain = event.orgId ?? PLATFORM_CHAIN;
    return new Promise((resolve, reject) => {
      const queue = this.queued.get(chain);
      const entry = { event, settle: (error?: unknown) => (error ? reject(error) : resolve()) };
      if (queue) {
        queue.push(entry);
        return;
      }
      this.queued.set(chain, [entry]);
      void this.db.detached(() => this.drain(chain));
    });
  }

  private async drain(chain: string): Promise<void> {
    for (;;) {
      const batch = this.queued.get(chain)!.splice(0, RECORD_BATCH);
      if (batch.length === 0) {
        this.queued.delete(chain);
        return;
      }
      try {
        await this.db.transaction(() => this.appendMany(chain, batch.map((entry) => entry.event)));
        for (const entry of batch) entry.settle();
      } catch (error) {
        for (const entry of batch) entry.settle(error);
      }
    }
  }

  /**
   * Reserves the next seqs by bumping the locked head (one statement), hashes each event onto
   * its predecessor, inserts them in one statement and moves the head's hash.
   */
  private async appendMany(chain: string, events: NewAuditEvent[]): Promise<void> {
    const reserve = () =>
      this.db.untypedQuery(`UPDATE audit_chain_heads SET seq = seq + $2 WHERE org_id = $1 RETURNING seq - $2 AS last_seq, hash`, [chain, events.length]);
    let [rows] = await reserve();
    if (rows.length === 0) {
      await this.db.untypedQuery(`INSERT INTO audit_chain_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING`, [chain, GENESIS]);
      [rows] = await reserve();
    }
    let prevHash: Buffer = rows[0].hash;
    let seq = Number(rows[0].last_seq);
    const occurredAt = new Date();
    const columns: unknown[][] = Array.from({ length: 17 }, () => []);
    for (const event of events) {
      const row = {
        id: newId('evt'),
        org_id: chain,
        seq: String(++seq),
        occurred_at: occurredAt,
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
      const hash = chainHash(prevHash, hashedFields(row));
      [row.id, row.seq, row.actor_type, row.actor_id, row.workspace_id, row.action, row.resource_type, row.resource_id, row.outcome,
        row.request_id, row.ip, row.user_agent, JSON.stringify(row.details), prevHash, hash].forEach((value, i) => columns[i]!.push(value));
      prevHash = hash;
    }
    await this.db.untypedQuery(
      `INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, actor_id, workspace_id, action, resource_type, resource_id,
         outcome, request_id, ip, user_agent, details, prev_hash, hash)
       SELECT id, $16, seq, $17, actor_type, actor_id, workspace_id, action, resource_type, resource_id, outcome, request_id, ip, user_agent,
         details::jsonb, prev_hash, hash
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
         $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[], $15::bytea[])
         AS t(id, seq, actor_type, actor_id, workspace_id, action, resource_type, resource_id, outcome, request_id, ip, user_agent, details, prev_hash, hash)`,
      [...columns.slice(0, 15), chain, occurredAt],
    );
    await this.db.untypedQuery(`UPDATE audit_chain_heads SET hash = $2 WHERE org_id = $1`, [chain, prevHash]);
  }

  async list(orgId: string, filters: ExportFilters & { limit: number; cursor?: string }) {
    const before = decodeSeqCursor(filters.cursor);
    const rows: EventRow[] = await this.db.untypedQuery(
      `SELECT * FROM audit_events WHERE org_id = $1
         AND ($2::text IS NULL OR workspace_id = $2) AND ($3::text IS NULL OR actor_id = $3) AND ($4::text IS NULL OR action = $4)
         AND ($5::text IS NULL OR resource_id = $5) AND ($6::text IS NULL OR request_id = $6)
         AND ($7::timestamptz IS NULL OR occurred_at >= $7) AND ($8::timestamptz IS NULL OR occurred_at < $8)
         AND ($9::bigint IS NULL OR seq < $9)
       ORDER BY seq DESC LIMIT $10`,
      [orgId, filters.workspace_id ?? null, filters.actor ?? null, filters.action ?? null, filters.resource ?? null, filters.correlation_id ?? null,
        filters.since ?? null, filters.until ?? null, before, filters.limit + 1],
    );
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
    const about = `org_id = $1 AND (resource_id = ANY($2) OR actor_id = ANY($2))`;
    const byAction: Array<{ action: string; n: number; first_at: Date; last_at: Date }> = await this.db.untypedQuery(
      `SELECT action, count(*)::int AS n, min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM audit_events
       WHERE ${about} GROUP BY action ORDER BY action`,
      [orgId, subjects],
    );
    const rows: EventRow[] = await this.db.untypedQuery(`SELECT * FROM audit_events WHERE ${about} ORDER BY seq DESC LIMIT $3`, [orgId, subjects, recent]);
    return { byAction, recent: rows.map(toAuditEvent) };
  }

  /**
   * Events in chain order, read a batch at a time by seq, so an export of any size holds one
   * batch in memory; the consumer's pace (stream backpressure) sets the pace of the reads.
   */
  async *export(orgId: string, filters: ExportFilters): AsyncGenerator<AuditEvent> {
    let after = '0';
    for (;;) {
      const rows: EventRow[] = await this.db.untypedQuery(
        `SELECT * FROM audit_events WHERE org_id = $1 AND seq > $2
           AND ($3::text IS NULL OR workspace_id = $3) AND ($4::text IS NULL OR actor_id = $4) AND ($5::text IS NULL OR action = $5)
           AND ($6::text IS NULL OR resource_id = $6) AND ($7::text IS NULL OR request_id = $7)
           AND ($8::timestamptz IS NULL OR occurred_at >= $8) AND ($9::timestamptz IS NULL OR occurred_at < $9)
         ORDER BY seq LIMIT ${EXPORT_BATCH}`,
        [orgId, after, filters.workspace_id ?? null, filters.actor ?? null, filters.action ?? null, filters.resource ?? null,
          filters.correlation_id ?? null, filters.since ?? null, filters.until ?? null],
      );
      for (const row of rows) yield toAuditEvent(row);
      if (rows.length < EXPORT_BATCH) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** Walks the chain in seq order, a batch at a time, and reports the first break. */
  async verify(orgId: string): Promise<ChainVerdict> {
    const [head] = await this.db.untypedQuery(`SELECT seq, hash FROM audit_chain_heads WHERE org_id = $1`, [orgId]);
    const headSeq = head ? Number(head.seq) : 0;
    const [checkpointRow] = await this.db.untypedQuery(`SELECT * FROM audit_checkpoints WHERE org_id = $1`, [orgId]);
    const checkpoint = checkpointRow
      ? { seq: Number(checkpointRow.seq), hash: checkpointRow.hash.toString('hex'), cut_at: checkpointRow.cut_at.toISOString(), key_id: checkpointRow.key_id as string }
      : null;
    // A retention purge removed everything up to the checkpoint; the walk starts after it.
    const start = checkpoint ? checkpoint.seq + 1 : 1;
    let prevHash: Buffer = checkpointRow ? checkpointRow.hash : GENESIS;
    let expected = start;
    const broken = (seq: number, reason: 'edited' | 'deleted' | 'reordered'): ChainVerdict => ({
      valid: false,
      org_id: orgId,
      events_checked: expected - start,
      head_seq: headSeq,
      first_broken_seq: seq,
      reason,
      checkpoint,
    });
    if (checkpoint && !(await this.signingKey.verify(checkpointMessage(orgId, checkpoint), checkpointRow.signature, checkpoint.key_id))) {
      return broken(checkpoint.seq, 'edited');
    }
    // Reads run ahead of the hashing, a few seq ranges at once on their own connections, so the
    // database is never idle while events are hashed; at most READ_AHEAD batches are held.
    const batch = (from: number): Promise<EventRow[]> => {
      const read = this.db.untypedQuery(`SELECT ${VERIFY_COLUMNS} FROM audit_events WHERE org_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`, [
        orgId,
        from,
        from + VERIFY_BATCH,
      ]);
      read.catch(() => undefined); // a read-ahead nobody awaits (the chain broke first) must not go unhandled
      return read;
    };
    const reads = Array.from({ length: READ_AHEAD }, (_, i) => batch(start + i * VERIFY_BATCH));
    let nextFrom = start + READ_AHEAD * VERIFY_BATCH;
    for (let from = start; ; from += VERIFY_BATCH) {
      const rows = await reads.shift()!;
      // Past the recorded head, an empty range ends the walk; before it, the gap is a deletion.
      if (rows.length === 0 && from > headSeq) break;
      reads.push(batch(nextFrom));
      nextFrom += VERIFY_BATCH;
      for (const row of rows) {
        if (Number(row.seq) !== expected) return broken(expected, 'deleted');
        if (!row.prev_hash.equals(prevHash)) return broken(expected, 'reordered');
        if (!chainHash(prevHash, hashedFields(row)).equals(row.hash)) return broken(expected, 'edited');
        prevHash = row.hash;
        expected++;
      }
      if (expected !== from + VERIFY_BATCH && expected <= headSeq) return broken(expected, 'deleted');
    }
    if (expected - 1 < headSeq) return broken(expected, 'deleted');
    if (head && !prevHash.equals(head.hash)) return broken(headSeq, 'edited');
    return { valid: true, org_id: orgId, events_checked: expected - start, head_seq: headSeq, first_broken_seq: null, reason: null, checkpoint };
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
      const deleted = await this.db.transaction(async (manager) => {
        await manager.query(`SELECT 1 FROM audit_chain_heads WHERE org_id = $1 FOR UPDATE`, [chain]);
        const [cut] = await manager.query(
          `SELECT seq, hash FROM audit_events WHERE org_id = $1 AND occurred_at < $2 ORDER BY seq DESC LIMIT 1`,
          [chain, cutoff],
        );
        if (!cut) return 0;
        const checkpoint = { seq: Number(cut.seq), hash: cut.hash.toString('hex'), cut_at: now.toISOString() };
        const { signature, keyId } = await this.signingKey.sign(checkpointMessage(chain, checkpoint));
        await manager.query(
          `INSERT INTO audit_checkpoints (org_id, seq, hash, cut_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (org_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, cut_at = EXCLUDED.cut_at,
             key_id = EXCLUDED.key_id, signature = EXCLUDED.signature`,
          [chain, checkpoint.seq, cut.hash, now, keyId, signature],
        );
        const [, count] = await manager.query(`DELETE FROM audit_events WHERE org_id = $1 AND seq <= $2`, [chain, checkpoint.seq]);
        return count as number;
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
