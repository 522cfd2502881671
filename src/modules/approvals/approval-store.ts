import type { Db } from '../../db/db';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'used';

export interface ApprovalRow {
  id: string;
  org_id: string;
  agent_id: string;
  key_id: string | null;
  action: string;
  method: string;
  path: string;
  /** bigint, as pg returns it. */
  cost_micros: string;
  policy_id: string | null;
  policy_version: number | null;
  request_id: string | null;
  /** As it reads now: a pending or approved row past `expires_at` is `expired`. */
  status: ApprovalStatus;
  /** Whether `status` is expired on read but not yet written so. */
  stale: boolean;
  reason: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  expires_at: Date;
  used_at: Date | null;
  created_at: Date;
}

export interface NewApproval {
  id: string;
  org_id: string;
  agent_id: string;
  key_id: string | null;
  action: string;
  method: string;
  path: string;
  cost_micros: number;
  policy_id: string | null;
  policy_version: number | null;
  request_id: string | null;
}

export interface ApprovalSettingsRow {
  org_id: string;
  slack_webhook_url: string | null;
  webhook_url: string | null;
  webhook_secret_version: number;
  updated_at: Date;
}

/** Pending and approved approvals lapse at `expires_at`, whatever the row says. */
const LAPSED = `(a.status IN ('pending', 'approved') AND a.expires_at <= now())`;
const EFFECTIVE_STATUS = `CASE WHEN ${LAPSED} THEN 'expired' ELSE a.status END`;
const COLUMNS = `a.id, a.org_id, a.agent_id, a.key_id, a.action, a.method, a.path, a.cost_micros, a.policy_id, a.policy_version,
  a.request_id, ${EFFECTIVE_STATUS} AS status, ${LAPSED} AS stale, a.reason, a.decided_by, a.decided_at, a.expires_at, a.used_at,
  a.created_at`;

/** The channel a decision is announced on, so long-polls on other connections (and instances) wake. */
export const DECISION_CHANNEL = 'warden_approval_decided';

/** Every SQL statement on `approvals` and `approval_settings`. */
export class ApprovalStore {
  constructor(
    private readonly db: Db,
    /** Whether anyone may LISTEN (a real Postgres): otherwise NOTIFY is not sent. */
    private readonly announce: boolean,
  ) {}

  async insert(approval: NewApproval, ttlMinutes: number): Promise<ApprovalRow> {
    const { rows } = await this.db.query<ApprovalRow>(
      `INSERT INTO approvals AS a (id, org_id, agent_id, key_id, action, method, path, cost_micros, policy_id, policy_version, request_id,
         expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(mins => $12)) RETURNING ${COLUMNS}`,
      [
        approval.id,
        approval.org_id,
        approval.agent_id,
        approval.key_id,
        approval.action,
        approval.method,
        approval.path,
        approval.cost_micros,
        approval.policy_id,
        approval.policy_version,
        approval.request_id,
        ttlMinutes,
      ],
    );
    return rows[0]!;
  }

  async find(orgId: string, id: string): Promise<ApprovalRow | undefined> {
    const { rows } = await this.db.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals a WHERE a.org_id = $1 AND a.id = $2`, [orgId, id]);
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, filter: { status: ApprovalStatus | null; beforeId: string | null; limit: number }): Promise<ApprovalRow[]> {
    const { rows } = await this.db.query<ApprovalRow>(
      `SELECT ${COLUMNS} FROM approvals a WHERE a.org_id = $1 AND ($2::text IS NULL OR ${EFFECTIVE_STATUS} = $2)
       AND ($3::text IS NULL OR a.id < $3) ORDER BY a.id DESC LIMIT $4`,
      [orgId, filter.status, filter.beforeId, filter.limit],
    );
    return rows;
  }

  async countPending(orgId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM approvals a WHERE a.org_id = $1 AND a.status = 'pending' AND a.expires_at > now()`,
      [orgId],
    );
    return rows[0]!.n;
  }

  /** Writes down the expiry that reads already show. */
  async persistExpiry(ids: string[]): Promise<void> {
    await this.db.query(`UPDATE approvals a SET status = 'expired' WHERE a.id = ANY ($1::text[]) AND ${LAPSED}`, [ids]);
  }

  /**
   * The decision, only if the approval is still pending and unexpired: of concurrent decisions
   * exactly one finds it so. Approving restarts the clock: the agent has `ttlMinutes` to use it.
   */
  async decide(
    orgId: string,
    id: string,
    decision: { status: 'approved' | 'denied'; decidedBy: string | null; reason: string | null; ttlMinutes: number },
  ): Promise<ApprovalRow | undefined> {
    const { rows } = await this.db.query<ApprovalRow>(
      `UPDATE approvals a SET status = $3, decided_by = $4, reason = $5, decided_at = now(),
         expires_at = CASE WHEN $3 = 'approved' THEN now() + make_interval(mins => $6) ELSE a.expires_at END
       WHERE a.org_id = $1 AND a.id = $2 AND a.status = 'pending' AND a.expires_at > now() RETURNING ${COLUMNS}`,
      [orgId, id, decision.status, decision.decidedBy, decision.reason, decision.ttlMinutes],
    );
    if (rows[0] && this.announce) await this.db.query(`SELECT pg_notify($1, $2)`, [DECISION_CHANNEL, id]);
    return rows[0];
  }

  /** Uses an approved approval for exactly this call: of concurrent redemptions exactly one finds it unused. */
  async redeem(
    orgId: string,
    id: string,
    call: { agentId: string; keyId: string | null; method: string; path: string; costMicros: number },
  ) {
    const { rows } = await this.db.query<ApprovalRow>(
      `UPDATE approvals a SET status = 'used', used_at = now()
       WHERE a.org_id = $1 AND a.id = $2 AND a.status = 'approved' AND a.expires_at > now()
         AND a.agent_id = $3 AND a.method = $4 AND a.path = $5 AND a.cost_micros >= $6 AND a.key_id IS NOT DISTINCT FROM $7
       RETURNING ${COLUMNS}`,
      [orgId, id, call.agentId, call.method, call.path, call.costMicros, call.keyId],
    );
    return rows[0];
  }

  async findSettings(orgId: string): Promise<ApprovalSettingsRow | undefined> {
    const { rows } = await this.db.query<ApprovalSettingsRow>(`SELECT * FROM approval_settings WHERE org_id = $1`, [orgId]);
    return rows[0];
  }

  async lockSettings(orgId: string): Promise<ApprovalSettingsRow | undefined> {
    const { rows } = await this.db.query<ApprovalSettingsRow>(`SELECT * FROM approval_settings WHERE org_id = $1 FOR UPDATE`, [orgId]);
    return rows[0];
  }

  /** Sets the URLs given (undefined keeps one); setting `webhook_url` moves to the next secret version. */
  async saveSettings(
    orgId: string,
    change: { slackWebhookUrl: string | null | undefined; webhookUrl: string | null | undefined },
  ): Promise<ApprovalSettingsRow> {
    const { rows } = await this.db.query<ApprovalSettingsRow>(
      `INSERT INTO approval_settings AS s (org_id, slack_webhook_url, webhook_url, webhook_secret_version)
       VALUES ($1, $3, $5, CASE WHEN $5::text IS NOT NULL THEN 1 ELSE 0 END)
       ON CONFLICT (org_id) DO UPDATE SET
         slack_webhook_url = CASE WHEN $2 THEN $3 ELSE s.slack_webhook_url END,
         webhook_url = CASE WHEN $4 THEN $5 ELSE s.webhook_url END,
         webhook_secret_version = s.webhook_secret_version + CASE WHEN $5::text IS NOT NULL THEN 1 ELSE 0 END,
         updated_at = now()
       RETURNING *`,
      [
        orgId,
        change.slackWebhookUrl !== undefined,
        change.slackWebhookUrl ?? null,
        change.webhookUrl !== undefined,
        change.webhookUrl ?? null,
      ],
    );
    return rows[0]!;
  }
}
