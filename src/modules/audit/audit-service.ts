import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { BadRequestError } from '../../errors/api-error';
import { canonicalJson } from '../trust/canonical-json';

type AuditEvent = components['schemas']['AuditEvent'];
type ActorType = AuditEvent['actor_type'];

/** The chain of events that belong to no org (e.g. a failed login for an unknown email). */
export const PLATFORM_CHAIN = 'platform';
const GENESIS = Buffer.alloc(32);
const VERIFY_BATCH = 1000;
const EXPORT_BATCH = 1000;

export interface ExportFilters {
  workspace_id?: string;
  actor?: string;
  action?: string;
  resource?: string;
  correlation_id?: string;
  since?: string;
  until?: string;
}

export interface NewAuditEvent {
  orgId: string | null;
  actor: { type: ActorType; id: string | null };
  workspaceId?: string | null;
  action: string;
  resourceType?: string;
  resourceId?: string | null;
  outcome: AuditEvent['outcome'];
  requestId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

/** Where a request came from, as audit events record it. */
export interface RequestFacts {
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

export function requestFactsOf(req: { id: string; ip?: string; socket: { remoteAddress?: string }; headers: Record<string, unknown> }): RequestFacts {
  const userAgent = req.headers['user-agent'];
  return { requestId: req.id, ip: req.ip ?? req.socket.remoteAddress ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null };
}

interface EventRow {
  id: string;
  org_id: string;
  seq: string;
  occurred_at: Date;
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
    occurred_at: row.occurred_at.toISOString(),
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

export function chainHash(prevHash: Buffer, fields: Omit<AuditEvent, 'prev_hash' | 'hash'>): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalJson(fields), 'utf8').digest();
}

const toAuditEvent = (row: EventRow): AuditEvent => ({ ...hashedFields(row), prev_hash: row.prev_hash.toString('hex'), hash: row.hash.toString('hex') });

/** Who an event is by: the principal's kind, and the id that names it. */
export function actorOf(principal: Principal): NewAuditEvent['actor'] {
  switch (principal.kind) {
    case 'user':
      return { type: 'user', id: principal.userId };
    case 'api_key':
      return { type: 'api_key', id: principal.apiKeyId };
    case 'admin_session':
      return { type: 'admin_session', id: principal.adminEmail };
    case 'agent':
      return { type: 'agent', id: principal.agentId };
    case 'installation':
      return { type: 'installation', id: principal.installationId };
    default:
      return { type: 'anonymous', id: null };
  }
}

/**
 * The tamper-evident audit log: per org, events numbered from 1 without gaps, each hash
 * covering its predecessor's. An append locks the chain's head row, so concurrent writers on
 * any connection or instance take turns and the chain stays one line.
 */
export class AuditService {
  constructor(private readonly db: Db) {}

  /** Appends inside the caller's transaction: the event commits or rolls back with the change. */
  async append(manager: EntityManager, event: NewAuditEvent): Promise<void> {
    const chain = event.orgId ?? PLATFORM_CHAIN;
    await manager.query(`INSERT INTO audit_chain_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING`, [chain, GENESIS]);
    const [head] = await manager.query(`SELECT seq, hash FROM audit_chain_heads WHERE org_id = $1 FOR UPDATE`, [chain]);
    const row = {
      id: newId('evt'),
      org_id: chain,
      seq: String(Number(head.seq) + 1),
      occurred_at: new Date(),
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
    const hash = chainHash(head.hash, hashedFields(row));
    await manager.query(
      `INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, actor_id, workspace_id, action, resource_type, resource_id,
         outcome, request_id, ip, user_agent, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [row.id, chain, row.seq, row.occurred_at, row.actor_type, row.actor_id, row.workspace_id, row.action, row.resource_type, row.resource_id,
        row.outcome, row.request_id, row.ip, row.user_agent, row.details, head.hash, hash],
    );
    await manager.query(`UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE org_id = $1`, [chain, row.seq, hash]);
  }

  /** A security event of its own (a failed login, a plan denial), committed on its own. */
  record(event: NewAuditEvent): Promise<void> {
    return this.db.transaction((manager) => this.append(manager, event));
  }

  async list(orgId: string, filters: {
    workspace_id?: string;
    actor?: string;
    action?: string;
    resource?: string;
    correlation_id?: string;
    since?: string;
    until?: string;
    limit: number;
    cursor?: string;
  }) {
    const before = decodeSeqCursor(filters.cursor);
    const rows: EventRow[] = await this.db.query(
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
   * Events in chain order, read a batch at a time by seq, so an export of any size holds one
   * batch in memory; the consumer's pace (stream backpressure) sets the pace of the reads.
   */
  async *export(orgId: string, filters: ExportFilters): AsyncGenerator<AuditEvent> {
    let after = '0';
    for (;;) {
      const rows: EventRow[] = await this.db.query(
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
  async verify(orgId: string) {
    const [head] = await this.db.query(`SELECT seq, hash FROM audit_chain_heads WHERE org_id = $1`, [orgId]);
    const headSeq = head ? Number(head.seq) : 0;
    let prevHash: Buffer = GENESIS;
    let expected = 1;
    const broken = (seq: number, reason: 'edited' | 'deleted' | 'reordered') => ({
      valid: false,
      org_id: orgId,
      events_checked: expected - 1,
      head_seq: headSeq,
      first_broken_seq: seq,
      reason,
    });
    for (;;) {
      const rows: EventRow[] = await this.db.query(`SELECT * FROM audit_events WHERE org_id = $1 AND seq >= $2 ORDER BY seq LIMIT ${VERIFY_BATCH}`, [orgId, expected]);
      for (const row of rows) {
        if (Number(row.seq) !== expected) return broken(expected, 'deleted');
        if (!row.prev_hash.equals(prevHash)) return broken(expected, 'reordered');
        if (!chainHash(prevHash, hashedFields(row)).equals(row.hash)) return broken(expected, 'edited');
        prevHash = row.hash;
        expected++;
      }
      if (rows.length < VERIFY_BATCH) break;
    }
    if (expected - 1 < headSeq) return broken(expected, 'deleted');
    if (head && !prevHash.equals(head.hash)) return broken(headSeq, 'edited');
    return { valid: true, org_id: orgId, events_checked: expected - 1, head_seq: headSeq, first_broken_seq: null, reason: null };
  }
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
