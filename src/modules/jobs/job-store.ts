import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type JobKind = components['schemas']['JobKind'];
export type JobStatus = components['schemas']['Job']['status'];

export interface JobRow {
  id: string;
  org_id: string;
  kind: JobKind;
  /** As it reads now: a claimed job whose lease ran out is queued again, or failed after its last attempt. */
  status: JobStatus;
  cluster_name: string;
  /** The agent the job is pinned to, if any. */
  agent_id: string | null;
  /** The agent holding it, or that held it last. */
  claimed_by: string | null;
  request_id: string | null;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  /** When the job may next be claimed: enqueued while queued, the lease's end while claimed. */
  visible_at: Date;
  claimed_at: Date | null;
  completed_at: Date | null;
  error: string | null;
  created_at: Date;
}

export interface NewJob {
  id: string;
  org_id: string;
  kind: JobKind;
  cluster_name: string;
  agent_id: string | null;
  request_id: string | null;
  payload: Record<string, unknown>;
  max_attempts: number;
}

/** What a claim statement did: the job handed out to each member, in order, and the jobs it failed (last lease expired). */
export interface ClaimResult {
  claimed: Array<JobRow | undefined>;
  failed: JobRow[];
}

/** A claimed job whose lease ran out: back in the queue, or failed once its attempts are used up, whatever the row says. */
const LAPSED = `(j.status = 'claimed' AND j.visible_at <= now())`;
const EXHAUSTED = `(${LAPSED} AND j.attempts >= j.max_attempts)`;
/** The reason a job whose lease ran out on its last attempt fails with. */
const EXHAUSTED_ERROR = `'The lease expired on the last of ' || j.max_attempts || ' attempts.'`;
const STATUS = `CASE WHEN ${EXHAUSTED} THEN 'failed' WHEN ${LAPSED} THEN 'queued' ELSE j.status END`;
const COLUMNS = `j.id, j.org_id, j.kind, ${STATUS} AS status,
  j.cluster_name, j.agent_id, j.claimed_by, j.request_id, j.payload, j.attempts, j.max_attempts, j.visible_at, j.claimed_at,
  CASE WHEN ${EXHAUSTED} THEN j.visible_at ELSE j.completed_at END AS completed_at,
  CASE WHEN ${EXHAUSTED} THEN ${EXHAUSTED_ERROR} ELSE j.error END AS error, j.created_at`;
/** At most this many exhausted jobs are failed by one claim, so a claim stays short. */
const SWEEP_LIMIT = 20;

/**
 * The clusters member `l` serves: those its agent has reported secrets of (`discovered_secrets`, the
 * secrets module's table, read here as its ClusterDirectory reads it, so that a claim is one statement).
 */
const SERVED_CLUSTERS = `ARRAY(SELECT DISTINCT s.cluster_name FROM discovered_secrets s
    WHERE s.org_id = l.org_id AND s.reported_by @> ARRAY[l.agent_id])`;

/**
 * One statement for a batch of claims ($1 orgs and $2 agents, one member each, in order; an agent may
 * be a member twice), each a claim as it would be alone:
 * - a member's agent must be live (a kill switch or revocation during a long-poll stops it here);
 * - jobs of the members' orgs whose lease ran out on their last attempt fail;
 * - each live member locks the oldest jobs it may take (pinned to its agent, or of a cluster the agent
 *   serves), as many as its place in the batch, skipping any another transaction has locked; then,
 *   member after member, each takes the oldest of its jobs no member before it took, and is leased it.
 * A member's place bounds what it needs: the members before it took at most that many less one.
 * Every scan walks a partial index in `visible_at` order, so none reads past what is due.
 */
const CLAIM = `WITH RECURSIVE members AS (
    SELECT m.n, m.org_id, m.agent_id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS m (org_id, agent_id, n)
  ), live AS (
    SELECT m.n, m.org_id, m.agent_id FROM members m JOIN agents a ON a.id = m.agent_id AND a.org_id = m.org_id
    WHERE a.status <> 'revoked' AND NOT (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now()))
  ), exhausted AS (
    UPDATE jobs j SET status = 'failed', completed_at = j.visible_at, error = ${EXHAUSTED_ERROR}
    WHERE j.id IN (
      SELECT x.id FROM jobs x
      WHERE x.org_id = ANY ($1::text[]) AND x.status = 'claimed' AND x.visible_at <= now() AND x.attempts >= x.max_attempts
      ORDER BY x.visible_at LIMIT ${SWEEP_LIMIT} FOR UPDATE SKIP LOCKED)
    RETURNING ${COLUMNS}
  ), candidates AS (
    SELECT l.n, c.id, c.visible_at FROM live l CROSS JOIN LATERAL (
      SELECT x.id, x.visible_at FROM jobs x
      WHERE x.org_id = l.org_id AND x.status IN ('queued', 'claimed') AND x.visible_at <= now() AND x.attempts < x.max_attempts
        AND (x.agent_id = l.agent_id OR (x.agent_id IS NULL AND x.cluster_name = ANY (${SERVED_CLUSTERS})))
      ORDER BY x.visible_at, x.id LIMIT l.n FOR UPDATE SKIP LOCKED) c
  ), assigned (n, id, taken) AS (
    SELECT 0::bigint, NULL::text, ARRAY[]::text[]
    UNION ALL
    SELECT a.n + 1, pick.id, CASE WHEN pick.id IS NULL THEN a.taken ELSE a.taken || pick.id END
    FROM assigned a LEFT JOIN LATERAL (
      SELECT c.id FROM candidates c WHERE c.n = a.n + 1 AND c.id <> ALL (a.taken) ORDER BY c.visible_at, c.id LIMIT 1
    ) pick ON true
    WHERE a.n < cardinality($1::text[])
  ), claimed AS (
    UPDATE jobs j SET status = 'claimed', claimed_by = m.agent_id, attempts = j.attempts + 1, claimed_at = now(),
      visible_at = now() + make_interval(secs => $3)
    FROM assigned a JOIN members m ON m.n = a.n
    WHERE j.id = a.id
    RETURNING m.n AS member, ${COLUMNS}
  )
  SELECT * FROM claimed UNION ALL SELECT NULL, * FROM exhausted`;

/** Every SQL statement on `jobs`. */
export class JobStore {
  constructor(
    private readonly db: Db,
    /** Whether anyone may LISTEN (a real Postgres): otherwise NOTIFY is not sent. */
    private readonly announce: boolean,
  ) {}

  async insert(job: NewJob): Promise<JobRow> {
    const { rows } = await this.db.query<JobRow>(
      `INSERT INTO jobs AS j (id, org_id, kind, cluster_name, agent_id, request_id, payload, max_attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [job.id, job.org_id, job.kind, job.cluster_name, job.agent_id, job.request_id, JSON.stringify(job.payload), job.max_attempts],
    );
    return rows[0]!;
  }

  /** Tells listeners on `channel`, once the transaction commits (Postgres holds NOTIFY until then). */
  async notify(channel: string, payload: string): Promise<void> {
    if (this.announce) await this.db.query(`SELECT pg_notify($1, $2)`, [channel, payload]);
  }

  /** Claims for each member (an agent of an org), in one statement: see CLAIM. */
  async claim(members: Array<{ orgId: string; agentId: string }>, leaseSeconds: number): Promise<ClaimResult> {
    const { rows } = await this.db.query<JobRow & { member: string | null }>(
      CLAIM,
      [members.map((member) => member.orgId), members.map((member) => member.agentId), leaseSeconds],
      { prepared: true },
    );
    const claimed: Array<JobRow | undefined> = members.map(() => undefined);
    const failed: JobRow[] = [];
    for (const { member, ...row } of rows) {
      if (member === null) failed.push(row);
      else claimed[Number(member) - 1] = row;
    }
    return { claimed, failed };
  }

  /** The outcome, only if the agent holds the job (claimed by it, lease running): of concurrent completions exactly one finds it so. */
  async complete(
    orgId: string,
    agentId: string,
    id: string,
    outcome: { status: 'completed' | 'failed'; error: string | null },
  ): Promise<JobRow | undefined> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE jobs j SET status = $4, error = $5, completed_at = now()
       WHERE j.org_id = $1 AND j.id = $3 AND j.claimed_by = $2 AND j.status = 'claimed' AND j.visible_at > now()
       RETURNING ${COLUMNS}`,
      [orgId, agentId, id, outcome.status, outcome.error],
    );
    return rows[0];
  }

  async find(orgId: string, id: string): Promise<JobRow | undefined> {
    const { rows } = await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs j WHERE j.org_id = $1 AND j.id = $2`, [orgId, id]);
    return rows[0];
  }

  async findHeld(orgId: string, agentId: string, requestId: string): Promise<JobRow | undefined> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM jobs j
       WHERE j.org_id = $1 AND j.claimed_by = $2 AND j.request_id = $3 AND j.status = 'claimed' AND j.visible_at > now()
       ORDER BY j.id DESC LIMIT 1`,
      [orgId, agentId, requestId],
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(
    orgId: string,
    filter: { status: JobStatus | null; clusterName: string | null; agentId: string | null; requestId: string | null },
    page: { beforeId: string | null; limit: number },
  ): Promise<JobRow[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM jobs j
       WHERE j.org_id = $1 AND ($2::text IS NULL OR ${STATUS} = $2)
         AND ($3::text IS NULL OR j.cluster_name = $3) AND ($4::text IS NULL OR j.agent_id = $4 OR j.claimed_by = $4)
         AND ($5::text IS NULL OR j.request_id = $5) AND ($6::text IS NULL OR j.id < $6)
       ORDER BY j.id DESC LIMIT $7`,
      [orgId, filter.status, filter.clusterName, filter.agentId, filter.requestId, page.beforeId, page.limit],
    );
    return rows;
  }
}
