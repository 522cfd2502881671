import type { Db } from '../../db/db';

export interface BillingSettingsRow {
  org_id: string;
  stripe_customer_id: string | null;
  billing_email: string | null;
  monthly_retainer_cents: number;
  currency: string;
  collection_method: 'charge_automatically' | 'send_invoice';
  days_until_due: number;
  stripe_enabled: boolean;
  /** Null: the operator's configured default. */
  take_rate_bps: number | null;
  fee_mode: 'take_rate' | 'per_action' | null;
  fee_per_action_micros: number | null;
  /** The budget agents created in the org start with (signup's `daily_budget_usd`); null = none set. */
  default_daily_budget_micros: number | null;
  updated_at: Date;
}

export type BillingSettingsChange = Partial<Omit<BillingSettingsRow, 'org_id' | 'updated_at'>>;

type Selected = Omit<BillingSettingsRow, 'monthly_retainer_cents' | 'fee_per_action_micros' | 'default_daily_budget_micros'> & {
  monthly_retainer_cents: string;
  fee_per_action_micros: string | null;
  default_daily_budget_micros: string | null;
};

const COLUMNS = `org_id, stripe_customer_id, billing_email, monthly_retainer_cents, currency, collection_method, days_until_due,
  stripe_enabled, take_rate_bps, fee_mode, fee_per_action_micros, default_daily_budget_micros, updated_at`;
const CHANGEABLE = new Set<keyof BillingSettingsChange>([
  'stripe_customer_id',
  'billing_email',
  'monthly_retainer_cents',
  'currency',
  'collection_method',
  'days_until_due',
  'stripe_enabled',
  'take_rate_bps',
  'fee_mode',
  'fee_per_action_micros',
  'default_daily_budget_micros',
]);

const toRow = (row: Selected): BillingSettingsRow => ({
  ...row,
  monthly_retainer_cents: Number(row.monthly_retainer_cents),
  fee_per_action_micros: row.fee_per_action_micros === null ? null : Number(row.fee_per_action_micros),
  default_daily_budget_micros: row.default_daily_budget_micros === null ? null : Number(row.default_daily_budget_micros),
});

/** Every SQL statement on `billing_settings`. */
export class BillingSettingsStore {
  constructor(private readonly db: Db) {}

  async find(orgId: string, forUpdate = false): Promise<BillingSettingsRow | undefined> {
    const { rows } = await this.db.query<Selected>(
      `SELECT ${COLUMNS} FROM billing_settings WHERE org_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [orgId],
    );
    return rows[0] && toRow(rows[0]);
  }

  async customers(orgIds: string[]): Promise<Array<{ org_id: string; stripe_customer_id: string }>> {
    const { rows } = await this.db.query<{ org_id: string; stripe_customer_id: string }>(
      `SELECT org_id, stripe_customer_id FROM billing_settings WHERE org_id = ANY($1::text[]) AND stripe_customer_id IS NOT NULL`,
      [orgIds],
    );
    return rows;
  }

  /** Sets the given columns (creating the org's row with defaults for the others). */
  async upsert(orgId: string, change: BillingSettingsChange): Promise<BillingSettingsRow> {
    const entries = Object.entries(change).filter(
      ([key, value]) => CHANGEABLE.has(key as keyof BillingSettingsChange) && value !== undefined,
    );
    const columns = entries.map(([key]) => key);
    const values = entries.map(([, value]) => value);
    const updates = columns.map((column) => `${column} = EXCLUDED.${column}`).concat('updated_at = now()');
    const { rows } = await this.db.query<Selected>(
      `INSERT INTO billing_settings (org_id${columns.map((column) => `, ${column}`).join('')})
       VALUES ($1${values.map((_, index) => `, $${index + 2}`).join('')})
       ON CONFLICT (org_id) DO UPDATE SET ${updates.join(', ')}
       RETURNING ${COLUMNS}`,
      [orgId, ...values],
    );
    return toRow(rows[0]!);
  }

  /** Attaches a customer unless the org already has one; the org's customer afterwards. */
  async attachCustomer(orgId: string, customerId: string): Promise<string> {
    await this.db.query(
      `INSERT INTO billing_settings (org_id, stripe_customer_id) VALUES ($1, $2)
       ON CONFLICT (org_id) DO UPDATE SET stripe_customer_id = $2, updated_at = now() WHERE billing_settings.stripe_customer_id IS NULL`,
      [orgId, customerId],
    );
    return (await this.find(orgId))!.stripe_customer_id!;
  }

  /** Stripe deleted the customer: the org has none any more. The orgs that had it. */
  async detachCustomer(customerId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ org_id: string }>(
      `UPDATE billing_settings SET stripe_customer_id = NULL, updated_at = now() WHERE stripe_customer_id = $1 RETURNING org_id`,
      [customerId],
    );
    return rows.map((row) => row.org_id);
  }
}
