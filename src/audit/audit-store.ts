import type { ClientBase } from 'pg';
import type { components } from '../../generated/api';
import type { Db } from '../db/db';
import type { PendingEvent } from './audit-chain';
import { WALK_COLUMNS } from './chain-walk';
import { copyOut } from './copy-out';

type AuditEvent = components['schemas']['AuditEvent'];

/** A row of `audit_events`. */
export interface AuditEventRow {
  id: string;
  org_id: string;
  seq: string;
  occurred_at: Date | string;
  actor_type: AuditEvent['actor_type'];
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

/** A chain's head (a row of `audit_chain_heads`): the last seq given out in it and the hash of its event. */
export interface ChainHead {
  seq: string;
  hash: Buffer;
}

/** A row of `audit_checkpoints`: where a retention purge cut a chain, signed. */
export interface CheckpointRow {
  org_id: string;
  seq: string;
  hash: Buffer;
  cut_at: Date;
  key_id: string;
  signature: Buffer;
}

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

/** Events about some subjects, per action: how many, and the first and last time. */
export interface ActionTally {
  action: string;
  n: number;
  first_at: Date;
  last_at: Date;
}

/** The filters' conditions, numbered from $2 ($1 is the chain). */
const FILTERED = `($2::text IS NULL OR workspace_id = $2) AND ($3::text IS NULL OR actor_id = $3) AND ($4::text IS NULL OR action = $4)
  AND ($5::text IS NULL OR resource_id = $5) AND ($6::text IS NULL OR request_id = $6)
  AND ($7::timestamptz IS NULL OR occurred_at >= $7) AND ($8::timestamptz IS NULL OR occurred_at < $8)`;
const ABOUT_SUBJECTS = `org_id = $1 AND (resource_id = ANY($2) OR actor_id = ANY($2))`;

const filterValues = (filters: ExportFilters) => [
  filters.workspace_id ?? null,
  filters.actor ?? null,
  filters.action ?? null,
  filters.resource ?? null,
  filters.correlation_id ?? null,
  filters.since ?? null,
  filters.until ?? null,
];

/** Every statement on the audit tables: `audit_events`, `audit_pending`, `audit_chain_heads`, `audit_checkpoints`. */
export class AuditStore {
  constructor(private readonly db: Db) {}

  /** Holds the chain's head row until the transaction ends, so no append interleaves. */
  async lockHead(chain: string): Promise<void> {
    await this.db.query(`SELECT 1 FROM audit_chain_heads WHERE org_id = $1 FOR UPDATE`, [chain]);
  }

  /** Events written in an operation's transaction, to be chained after its commit (or in it: chainPending). */
  async insertPending(chain: string, events: PendingEvent[]): Promise<void> {
    if (events.length === 1) {
      // Prepared, and without arrays to encode: every audited operation runs it.
      await this.db.query(
        `INSERT INTO audit_pending (org_id, canonical_before_seq, canonical_after_seq) VALUES ($1, $2, $3)`,
        [chain, ...events[0]!],
        { prepared: true },
      );
      return;
    }
    await this.db.query(
      `INSERT INTO audit_pending (org_id, canonical_before_seq, canonical_after_seq)
       SELECT $1, before, after FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(before, after, n) ORDER BY n`,
      [chain, events.map(([before]) => before), events.map(([, after]) => after)],
    );
  }

  /**
   * Chains up to `limit` of the chain's pending events, oldest first, in one statement: the
   * database locks the head, numbers and hashes them and moves them into `audit_events`
   * (audit_chain_pending, migration 1733430000000). How many it chained.
   */
  async chainPending(chain: string, limit: number): Promise<number> {
    const { rows } = await this.db.query<{ chained: number }>(`SELECT audit_chain_pending($1, $2) AS chained`, [chain, limit], {
      prepared: true,
    });
    return rows[0]!.chained;
  }

  /** The chains with events waiting to be chained for over `minAgeSeconds`. */
  async chainsWithPending(minAgeSeconds: number): Promise<string[]> {
    const { rows } = await this.db.query<{ org_id: string }>(
      `SELECT DISTINCT org_id FROM audit_pending
       WHERE ((canonical_before_seq || '0' || canonical_after_seq)::json->>'occurred_at')::timestamptz
         <= now() - make_interval(secs => $1)`,
      [minAgeSeconds],
    );
    return rows.map((row) => row.org_id);
  }

  /** A page of the chain's events, newest first, older than `beforeSeq` when given. */
  async page(chain: string, filters: ExportFilters, beforeSeq: string | null, limit: number): Promise<AuditEventRow[]> {
    const { rows } = await this.db.query<AuditEventRow>(
      `SELECT * FROM audit_events WHERE org_id = $1 AND ${FILTERED} AND ($9::bigint IS NULL OR seq < $9)
       ORDER BY seq DESC LIMIT $10`,
      [chain, ...filterValues(filters), beforeSeq, limit],
    );
    return rows;
  }

  /** The next `limit` of the chain's events after `afterSeq`, in chain order. */
  async after(chain: string, filters: ExportFilters, afterSeq: string, limit: number): Promise<AuditEventRow[]> {
    const { rows } = await this.db.query<AuditEventRow>(
      `SELECT * FROM audit_events WHERE org_id = $1 AND ${FILTERED} AND seq > $9 ORDER BY seq LIMIT $10`,
      [chain, ...filterValues(filters), afterSeq, limit],
    );
    return rows;
  }

  /**
   * Runs `read` in one REPEATABLE READ, READ ONLY transaction on a connection of its own, so the
   * head, the checkpoint and every range of events it reads are one snapshot: appends or a purge
   * committing meanwhile cannot look like a break. Verification reads the chain this way.
   */
  async snapshot<T>(read: (snapshot: ChainSnapshot) => Promise<T>): Promise<T> {
    const runner = this.db.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as ClientBase;
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      try {
        const result = await read(chainSnapshot(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  async tallyAbout(chain: string, subjects: string[]): Promise<ActionTally[]> {
    const { rows } = await this.db.query<ActionTally>(
      `SELECT action, count(*)::int AS n, min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM audit_events
       WHERE ${ABOUT_SUBJECTS} GROUP BY action ORDER BY action`,
      [chain, subjects],
    );
    return rows;
  }

  async newestAbout(chain: string, subjects: string[], limit: number): Promise<AuditEventRow[]> {
    const { rows } = await this.db.query<AuditEventRow>(`SELECT * FROM audit_events WHERE ${ABOUT_SUBJECTS} ORDER BY seq DESC LIMIT $3`, [
      chain,
      subjects,
      limit,
    ]);
    return rows;
  }

  /** The newest event of the chain that occurred before `cutoff`. */
  async lastBefore(chain: string, cutoff: Date): Promise<{ seq: string; hash: Buffer } | undefined> {
    const { rows } = await this.db.query<{ seq: string; hash: Buffer }>(
      `SELECT seq, hash FROM audit_events WHERE org_id = $1 AND occurred_at < $2 ORDER BY seq DESC LIMIT 1`,
      [chain, cutoff],
    );
    return rows[0];
  }

  /** Deletes the chain's events up to and including `seq`; how many went. */
  async deleteThrough(chain: string, seq: string): Promise<number> {
    const { affected } = await this.db.query(`DELETE FROM audit_events WHERE org_id = $1 AND seq <= $2`, [chain, seq]);
    return affected;
  }

  async findCheckpoint(chain: string): Promise<CheckpointRow | undefined> {
    const { rows } = await this.db.query<CheckpointRow>(`SELECT * FROM audit_checkpoints WHERE org_id = $1`, [chain]);
    return rows[0];
  }

  async saveCheckpoint(checkpoint: Omit<CheckpointRow, 'seq'> & { seq: number }): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_checkpoints (org_id, seq, hash, cut_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (org_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, cut_at = EXCLUDED.cut_at,
         key_id = EXCLUDED.key_id, signature = EXCLUDED.signature`,
      [checkpoint.org_id, checkpoint.seq, checkpoint.hash, checkpoint.cut_at, checkpoint.key_id, checkpoint.signature],
    );
  }
}

/** What a verification reads inside its snapshot. */
export interface ChainSnapshot {
  head(chain: string): Promise<ChainHead | undefined>;
  checkpoint(chain: string): Promise<CheckpointRow | undefined>;
  /**
   * Streams at most `limit` of the chain's events from seq `from` on, in seq order, to `sink` as
   * binary COPY data (the columns of WALK_COLUMNS), parsing no row into an object. COPY takes no
   * parameters, so the chain id goes in as an escaped literal and the numbers as checked integers.
   */
  copy(chain: string, from: number, limit: number, sink: (chunk: Buffer) => void): Promise<void>;
}

function chainSnapshot(client: ClientBase): ChainSnapshot {
  return {
    async head(chain) {
      const { rows } = await client.query(`SELECT seq, hash FROM audit_chain_heads WHERE org_id = $1`, [chain]);
      return rows[0];
    },
    async checkpoint(chain) {
      const { rows } = await client.query(`SELECT * FROM audit_checkpoints WHERE org_id = $1`, [chain]);
      return rows[0];
    },
    copy(chain, from, limit, sink) {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(limit)) throw new TypeError('from and limit must be integers');
      return copyOut(
        client,
        `COPY (SELECT ${WALK_COLUMNS.join(', ')} FROM audit_events WHERE org_id = ${client.escapeLiteral(chain)} AND seq >= ${from}
           ORDER BY seq LIMIT ${limit}) TO STDOUT (FORMAT binary)`,
        sink,
      );
    },
  };
}
