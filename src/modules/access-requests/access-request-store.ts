import type { Db } from '../../db/db';

export type RequestKind = 'read' | 'patch';
export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired' | 'running' | 'completed' | 'failed';

export interface AccessRequestRow {
  id: string;
  org_id: string;
  kind: RequestKind;
  status: RequestStatus;
  requester_id: string;
  project_id: string;
  project_name: string;
  environment_id: string;
  environment_name: string;
  secret_id: string;
  cluster_name: string;
  provider: string;
  ref: string;
  justification: string;
  expires_at: Date;
  workflow_id: string | null;
  workflow_version: number | null;
  required_approvals: number;
  approver_roles: string[];
  job_id: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  decided_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ApprovalRow {
  id: string;
  request_id: string;
  approver_id: string;
  decision: 'approved' | 'rejected';
  comment: string | null;
  created_at: Date;
}

export type NewAccessRequest = Omit<
  AccessRequestRow,
  'job_id' | 'decided_by' | 'decision_reason' | 'decided_at' | 'completed_at' | 'created_at' | 'updated_at'
>;

const COLUMNS = `id, org_id, kind, status, requester_id, project_id, project_name, environment_id, environment_name, secret_id,
  cluster_name, provider, ref, justification, expires_at, workflow_id, workflow_version, required_approvals, approver_roles, job_id,
  decided_by, decision_reason, decided_at, completed_at, created_at, updated_at`;

/** A pending request past its deadline is expired, whether or not a sweep has written so yet. */
const STATUS_FILTER = `($3::text IS NULL
  OR ($3 = 'expired' AND (status = 'expired' OR (status = 'pending' AND expires_at <= now())))
  OR ($3 = 'pending' AND status = 'pending' AND expires_at > now())
  OR ($3 NOT IN ('expired', 'pending') AND status = $3))`;

/** Every SQL statement on `access_requests` and `access_request_approvals`. */
export class AccessRequestStore {
  constructor(private readonly db: Db) {}

  async insert(row: NewAccessRequest): Promise<AccessRequestRow> {
    const { rows } = await this.db.query<AccessRequestRow>(
      `INSERT INTO access_requests (id, org_id, kind, status, requester_id, project_id, project_name, environment_id, environment_name,
         secret_id, cluster_name, provider, ref, justification, expires_at, workflow_id, workflow_version, required_approvals,
         approver_roles)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING ${COLUMNS}`,
      [
        row.id,
        row.org_id,
        row.kind,
        row.status,
        row.requester_id,
        row.project_id,
        row.project_name,
        row.environment_id,
        row.environment_name,
        row.secret_id,
        row.cluster_name,
        row.provider,
        row.ref,
        row.justification,
        row.expires_at,
        row.workflow_id,
        row.workflow_version,
        row.required_approvals,
        row.approver_roles,
      ],
    );
    return rows[0]!;
  }

  /** The request, under a row lock when `lock`: every transition reads it so, which serializes decisions on one request. */
  async find(orgId: string, id: string, lock = false): Promise<AccessRequestRow | undefined> {
    const { rows } = await this.db.query<AccessRequestRow>(
      `SELECT ${COLUMNS} FROM access_requests WHERE org_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [orgId, id],
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; only `requesterId`'s when given. */
  async list(
    orgId: string,
    filter: { requesterId: string | null; status: RequestStatus | null },
    beforeId: string | null,
    limit: number,
  ): Promise<AccessRequestRow[]> {
    const { rows } = await this.db.query<AccessRequestRow>(
      `SELECT ${COLUMNS} FROM access_requests
       WHERE org_id = $1 AND ($2::text IS NULL OR requester_id = $2) AND ${STATUS_FILTER} AND ($4::text IS NULL OR id < $4)
       ORDER BY id DESC LIMIT $5`,
      [orgId, filter.requesterId, filter.status, beforeId, limit],
    );
    return rows;
  }

  async transition(
    id: string,
    change: { status: RequestStatus; jobId?: string; decidedBy?: string; reason?: string; decided?: boolean; completed?: boolean },
  ): Promise<AccessRequestRow> {
    const { rows } = await this.db.query<AccessRequestRow>(
      `UPDATE access_requests SET status = $2, job_id = COALESCE($3, job_id), decided_by = COALESCE($4, decided_by),
         decision_reason = COALESCE($5, decision_reason), decided_at = CASE WHEN $6 THEN now() ELSE decided_at END,
         completed_at = CASE WHEN $7 THEN now() ELSE completed_at END, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, change.status, change.jobId ?? null, change.decidedBy ?? null, change.reason ?? null, !!change.decided, !!change.completed],
    );
    return rows[0]!;
  }

  /** The request a job carries out, locked: the job's claim and settlement move it on. */
  async lockById(id: string): Promise<AccessRequestRow | undefined> {
    const { rows } = await this.db.query<AccessRequestRow>(`SELECT ${COLUMNS} FROM access_requests WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0];
  }

  /** Writes `expired` on pending requests past their deadline; returns them. Rows another transaction holds wait for the next run. */
  async expireDue(limit: number): Promise<Array<{ id: string; org_id: string }>> {
    const { rows } = await this.db.query<{ id: string; org_id: string }>(
      `UPDATE access_requests SET status = 'expired', updated_at = now()
       WHERE id IN (SELECT id FROM access_requests WHERE status = 'pending' AND expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, org_id`,
      [limit],
    );
    return rows;
  }

  /** False when this approver already decided the request. */
  async insertApproval(row: Omit<ApprovalRow, 'created_at'> & { org_id: string }): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO access_request_approvals (id, org_id, request_id, approver_id, decision, comment) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (request_id, approver_id) DO NOTHING RETURNING id`,
      [row.id, row.org_id, row.request_id, row.approver_id, row.decision, row.comment],
    );
    return rows.length === 1;
  }

  /** Ids of the org's still decidable requests (pending, not expired) whose approver_roles list `roleName`, oldest first. */
  async pendingNamingApproverRole(orgId: string, roleName: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM access_requests
       WHERE org_id = $1 AND status = 'pending' AND expires_at > now() AND $2 = ANY (approver_roles) ORDER BY id LIMIT $3`,
      [orgId, roleName, limit],
    );
    return rows.map((row) => row.id);
  }

  async approvalsOf(requestIds: string[]): Promise<ApprovalRow[]> {
    const { rows } = await this.db.query<ApprovalRow>(
      `SELECT id, request_id, approver_id, decision, comment, created_at FROM access_request_approvals
       WHERE request_id = ANY($1::text[]) ORDER BY id`,
      [requestIds],
    );
    return rows;
  }
}
