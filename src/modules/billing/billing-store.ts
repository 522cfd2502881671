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

/** Every SQL statement on `billing_events` and `agent_daily_spend`. */
export class BillingStore {
  constructor(private readonly db: Db) {}

  /**
   * Adds `cost` to the agent's spend of `day` if the total stays within `budget` (null: no limit),
   * in one statement: ON CONFLICT DO UPDATE locks the day's row and re-checks its WHERE against the
   * latest committed spend, so concurrent reservations take turns and none sees a stale total.
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
  ): Promise<number | null> {
    const { rows } = await this.db.query<{ spent_micros: string }>(
      `INSERT INTO agent_daily_spend AS s (org_id, agent_id, day, spent_micros)
       SELECT $1, $2, $3::date, $4::bigint
       FROM (SELECT CASE WHEN $6::boolean THEN set_config('synchronous_commit', 'off', true) END) AS commit_mode
       WHERE $5::bigint IS NULL OR $4::bigint <= $5::bigint
       ON CONFLICT (agent_id, day) DO UPDATE SET spent_micros = s.spent_micros + EXCLUDED.spent_micros
       WHERE s.org_id = EXCLUDED.org_id AND ($5::bigint IS NULL OR s.spent_micros + EXCLUDED.spent_micros <= $5::bigint)
       RETURNING spent_micros`,
      [orgId, agentId, day, cost, budget, relaxed],
      { prepared: true },
    );
    return rows[0] ? Number(rows[0].spent_micros) : null;
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
