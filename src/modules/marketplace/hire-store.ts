import type { Db } from '../../db/db';

export interface HireRow {
  id: string;
  org_id: string;
  agent_id: string;
  pricing_model: string;
  rail: string;
  currency: string;
  amount: string | null;
  amount_usd_micros: string | null;
  network: string | null;
  asset: string | null;
  daily_budget_micros: string | null;
  charge_transfer_id: string | null;
  idempotency_key: string | null;
  request_digest: Buffer | null;
  created_at: Date;
}

const HIRE_COLUMNS = `id, org_id, agent_id, pricing_model, rail, currency, amount, amount_usd_micros, network, asset, daily_budget_micros,
  charge_transfer_id, idempotency_key, request_digest, created_at`;

/** Every SQL statement on `marketplace_hires`. */
export class HireStore {
  constructor(private readonly db: Db) {}

  /** Unique per org and agent, and per org and idempotency key: a second hire is a unique violation. */
  async insert(row: Omit<HireRow, 'created_at'>): Promise<HireRow> {
    const { rows } = await this.db.query<HireRow>(
      `INSERT INTO marketplace_hires (id, org_id, agent_id, pricing_model, rail, currency, amount, amount_usd_micros, network, asset,
         daily_budget_micros, charge_transfer_id, idempotency_key, request_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       RETURNING ${HIRE_COLUMNS}`,
      [
        row.id,
        row.org_id,
        row.agent_id,
        row.pricing_model,
        row.rail,
        row.currency,
        row.amount,
        row.amount_usd_micros,
        row.network,
        row.asset,
        row.daily_budget_micros,
        row.charge_transfer_id,
        row.idempotency_key,
        row.request_digest,
      ],
    );
    return rows[0]!;
  }

  /** The hire an idempotency key names if made in the last 24 hours; an older key is released first. */
  async findByIdempotencyKey(orgId: string, key: string): Promise<HireRow | undefined> {
    await this.db.query(
      `UPDATE marketplace_hires SET idempotency_key = NULL
       WHERE org_id = $1 AND idempotency_key = $2 AND created_at < now() - interval '24 hours'`,
      [orgId, key],
    );
    const { rows } = await this.db.query<HireRow>(
      `SELECT ${HIRE_COLUMNS} FROM marketplace_hires WHERE org_id = $1 AND idempotency_key = $2`,
      [orgId, key],
    );
    return rows[0];
  }

  /** Hires made in [from, to), the org's or every org's. */
  async count(orgId: string | null, from: Date, to: Date): Promise<number> {
    const { rows } = await this.db.query<{ hires: string }>(
      `SELECT count(*) AS hires FROM marketplace_hires WHERE ($1::text IS NULL OR org_id = $1) AND created_at >= $2 AND created_at < $3`,
      [orgId, from, to],
    );
    return Number(rows[0]!.hires);
  }
}
