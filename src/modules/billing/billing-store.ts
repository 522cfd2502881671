import type { Db } from '../../db/db';

export interface BillingEventRow {
  id: string;
  org_id: string;
  agent_id: string;
  key_id: string | null;
  request_id: string;
  action: string;
  allow: boolean;
  status_code: number;
  authorized_cost_micros: number;
  cost_micros: number;
  fee_micros: number;
  policy_id: string | null;
  policy_version: number | null;
  deny_reason: string | null;
  metering_source: 'declared' | 'vendor';
  occurred_at: Date;
}

export interface BillingTotals {
  total_events: number;
  allowed_events: number;
  cost_micros: number;
  fee_micros: number;
}

/** pg hands bigint and count() back as strings; micro-dollar amounts stay below 2^53, so they are exact as numbers. */
type AsSelected<Row, Keys extends keyof Row> = Omit<Row, Keys> & Record<Keys, string>;
type SelectedEventRow = AsSelected<BillingEventRow, 'authorized_cost_micros' | 'cost_micros' | 'fee_micros'>;

const EVENT_COLUMNS = `id, org_id, agent_id, key_id, request_id, action, allow, status_code, authorized_cost_micros, cost_micros,
  fee_micros, policy_id, policy_version, deny_reason, metering_source, occurred_at`;

const toEventRow = (row: SelectedEventRow): BillingEventRow => ({
  ...row,
  authorized_cost_micros: Number(row.authorized_cost_micros),
  cost_micros: Number(row.cost_micros),
  fee_micros: Number(row.fee_micros),
});

/** What a governed call was decided on: the org's governance epoch (null: not checked) and its gateway key, if any. */
export interface GovernanceBasis {
  epoch: number | null;
  keyId: string | null;
}

/**
 * Whether what a call was decided on still stands, as of the statement: the org's governance
 * epoch is the one it was read under (any change to the agent's state, budget or policies, a
 * policy, a key or a vendor moves it, in the change's own transaction), and, checked directly
 * besides, the agent is live and its gateway key unrevoked with its vendor not deleted.
 */
const STANDING = (checked: string, org: string, agent: string, epoch: string, key: string) => `(NOT ${checked}::boolean OR (
    (${epoch}::bigint IS NULL OR COALESCE((SELECT g.epoch FROM governance_epochs g WHERE g.org_id = ${org}), 0) = ${epoch}::bigint)
    AND EXISTS (SELECT 1 FROM agents a WHERE a.id = ${agent} AND a.org_id = ${org}
      AND (a.status = 'active' OR (a.status = 'disabled' AND a.disabled_until <= now())))
    AND (${key}::text IS NULL OR EXISTS (SELECT 1 FROM gateway_keys k JOIN vendors v ON v.id = k.vendor_id
      WHERE k.id = ${key} AND k.org_id = ${org} AND k.revoked_at IS NULL AND v.deleted_at IS NULL))))`;

/** Every SQL statement on `billing_events` and `agent_daily_spend`. */
export class BillingStore {
  constructor(private readonly db: Db) {}

  /**
   * Adds `cost` to the agent's spend of `day` if the total stays within `budget` (null: no limit),
   * in one statement: ON CONFLICT DO UPDATE locks the day's row and re-checks its WHERE against the
   * latest committed spend, so concurrent reservations take turns and none sees a stale total.
   * Only while the call's governance still stands (`standing`, unless null; nothing is reserved otherwise).
   * The new spend, or null when the reservation would pass the budget (nothing changed then).
   *
   * `relaxed`: the statement, run as its own transaction, commits without waiting for its WAL
   * flush. The day's row is every call of one agent's turnstile, and its lock is held until commit:
   * waiting for the disk there lets one agent make one call per flush (a few hundred a second).
   * What a crash can lose is the last fraction of a second of reservations (the billing events,
   * written durably, still record those calls).
   */
  async reserve(
    orgId: string,
    agentId: string,
    day: string,
    cost: number,
    budget: number | null,
    relaxed: boolean,
    standing: GovernanceBasis | null,
  ): Promise<{ standing: boolean; spent: number | null }> {
    const { rows } = await this.db.query<{ standing: boolean; spent_micros: string | null }>(
      `WITH standing AS (SELECT ${STANDING('$9', '$1', '$2', '$7', '$8')} AS ok),
       reserved AS (
         INSERT INTO agent_daily_spend AS s (org_id, agent_id, day, spent_micros)
         SELECT $1, $2, $3::date, $4::bigint
         FROM standing, (SELECT CASE WHEN $6::boolean THEN set_config('synchronous_commit', 'off', true) END) AS commit_mode
         WHERE standing.ok AND ($5::bigint IS NULL OR $4::bigint <= $5::bigint)
         ON CONFLICT (agent_id, day) DO UPDATE SET spent_micros = s.spent_micros + EXCLUDED.spent_micros
         WHERE s.org_id = EXCLUDED.org_id AND ($5::bigint IS NULL OR s.spent_micros + EXCLUDED.spent_micros <= $5::bigint)
         RETURNING spent_micros)
       SELECT standing.ok AS standing, (SELECT spent_micros FROM reserved) AS spent_micros FROM standing`,
      [orgId, agentId, day, cost, budget, relaxed, standing?.epoch ?? null, standing?.keyId ?? null, standing !== null],
      { prepared: true },
    );
    const row = rows[0]!;
    return { standing: row.standing, spent: row.spent_micros === null ? null : Number(row.spent_micros) };
  }

  /** Whether a call's governance still stands (see STANDING), for a ruling that reserves nothing. */
  async stands(orgId: string, agentId: string, standing: GovernanceBasis): Promise<boolean> {
    const { rows } = await this.db.query<{ ok: boolean }>(
      `SELECT ${STANDING('true', '$1', '$2', '$3', '$4')} AS ok`,
      [orgId, agentId, standing.epoch, standing.keyId],
      { prepared: true },
    );
    return rows[0]!.ok;
  }

  async spentOn(agentId: string, day: string): Promise<number> {
    const { rows } = await this.db.query<{ spent_micros: string }>(
      `SELECT spent_micros FROM agent_daily_spend WHERE agent_id = $1 AND day = $2::date`,
      [agentId, day],
    );
    return rows[0] ? Number(rows[0].spent_micros) : 0;
  }

  /** Moves the day's spend by `delta`, never below zero (a release repeated by mistake cannot mint budget). */
  async adjust(orgId: string, agentId: string, day: string, delta: number): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_daily_spend AS s (org_id, agent_id, day, spent_micros) VALUES ($1, $2, $3::date, GREATEST($4::bigint, 0))
       ON CONFLICT (agent_id, day) DO UPDATE SET spent_micros = GREATEST(s.spent_micros + $4::bigint, 0) WHERE s.org_id = $1`,
      [orgId, agentId, day, delta],
    );
  }

  async spentByAgent(orgId: string, day: string): Promise<Array<{ agent_id: string; spent_micros: number }>> {
    const { rows } = await this.db.query<{ agent_id: string; spent_micros: string }>(
      `SELECT agent_id, spent_micros FROM agent_daily_spend WHERE org_id = $1 AND day = $2::date ORDER BY agent_id`,
      [orgId, day],
    );
    return rows.map((row) => ({ agent_id: row.agent_id, spent_micros: Number(row.spent_micros) }));
  }

  /** Several events in one statement (a group commit of concurrent calls' events). */
  async insertEvents(events: BillingEventRow[]): Promise<void> {
    const columns = Object.keys(events[0]!) as Array<keyof BillingEventRow>;
    const values: unknown[] = [];
    const rows = events.map((event) => `(${columns.map((column) => `$${values.push(event[column])}`).join(', ')})`);
    await this.db.query(`INSERT INTO billing_events (${columns.join(', ')}) VALUES ${rows.join(', ')}`, values);
  }

  /** Newest first, after the cursor event; one more than `limit` tells whether there is more. */
  async listEvents(orgId: string, filter: { agentId: string | null; afterId: string | null; limit: number }): Promise<BillingEventRow[]> {
    const { rows } = await this.db.query<SelectedEventRow>(
      `SELECT ${EVENT_COLUMNS} FROM billing_events
       WHERE org_id = $1 AND ($2::text IS NULL OR agent_id = $2)
         AND ($3::text IS NULL OR (occurred_at, id) < (SELECT c.occurred_at, c.id FROM billing_events c WHERE c.id = $3 AND c.org_id = $1))
       ORDER BY occurred_at DESC, id DESC LIMIT $4`,
      [orgId, filter.agentId, filter.afterId, filter.limit],
    );
    return rows.map(toEventRow);
  }

  /** Event counts, the cost of allowed calls and all fees over [from, to). */
  async totals(orgId: string, agentId: string | null, from: Date, to: Date): Promise<BillingTotals> {
    const { rows } = await this.db.query<AsSelected<BillingTotals, keyof BillingTotals>>(
      `SELECT count(*) AS total_events, count(*) FILTER (WHERE allow) AS allowed_events,
         COALESCE(sum(cost_micros) FILTER (WHERE allow), 0) AS cost_micros, COALESCE(sum(fee_micros), 0) AS fee_micros
       FROM billing_events WHERE org_id = $1 AND ($2::text IS NULL OR agent_id = $2) AND occurred_at >= $3 AND occurred_at < $4`,
      [orgId, agentId, from, to],
    );
    const row = rows[0]!;
    return {
      total_events: Number(row.total_events),
      allowed_events: Number(row.allowed_events),
      cost_micros: Number(row.cost_micros),
      fee_micros: Number(row.fee_micros),
    };
  }
}
