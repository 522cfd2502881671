import type { Db } from '../../db/db';

export type StripeInvoiceStatus = 'draft' | 'open' | 'paid' | 'payment_failed' | 'void' | 'uncollectible' | 'customer_deleted';

export interface StripeInvoiceRow {
  id: string;
  org_id: string;
  /** Null until Stripe created it (a claim whose Stripe calls have not finished). */
  stripe_invoice_id: string | null;
  stripe_customer_id: string;
  period_from: Date;
  period_to: Date;
  amount_due_cents: number;
  currency: string;
  status: StripeInvoiceStatus;
  hosted_invoice_url: string | null;
  line_count: number;
  created_at: Date;
  updated_at: Date;
}

/** One invoice item: an agent's fees over the period, in whole cents. */
export interface FeeLine {
  agent_id: string;
  fee_cents: number;
}

type Selected = Omit<StripeInvoiceRow, 'amount_due_cents'> & { amount_due_cents: string };
const COLUMNS = `id, org_id, stripe_invoice_id, stripe_customer_id, period_from, period_to, amount_due_cents, currency, status,
  hosted_invoice_url, line_count, created_at, updated_at`;
const toRow = (row: Selected): StripeInvoiceRow => ({ ...row, amount_due_cents: Number(row.amount_due_cents) });

/** Every SQL statement on `stripe_invoices` and `stripe_webhook_events`. */
export class StripeStore {
  constructor(private readonly db: Db) {}

  /**
   * Each agent's fees over [from, to) in cents: summed in micro-dollars, then rounded half up once
   * per agent (never per event), so the items add up to what the billing summary shows.
   */
  async feeLines(orgId: string, from: Date, to: Date): Promise<FeeLine[]> {
    const { rows } = await this.db.query<{ agent_id: string; fee_cents: string }>(
      `SELECT agent_id, div(sum(fee_micros) + 5000, 10000) AS fee_cents FROM billing_events
       WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3
       GROUP BY agent_id HAVING div(sum(fee_micros) + 5000, 10000) > 0 ORDER BY agent_id`,
      [orgId, from, to],
    );
    return rows.map((row) => ({ agent_id: row.agent_id, fee_cents: Number(row.fee_cents) }));
  }

  /** Claims the period for a new invoice; undefined when it is claimed already (see findPeriod). */
  async claimPeriod(row: Omit<StripeInvoiceRow, 'stripe_invoice_id' | 'hosted_invoice_url' | 'created_at' | 'updated_at'>) {
    const { rows } = await this.db.query<Selected>(
      `INSERT INTO stripe_invoices (id, org_id, stripe_customer_id, period_from, period_to, amount_due_cents, currency, status, line_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_id, period_from, period_to) DO NOTHING RETURNING ${COLUMNS}`,
      [
        row.id,
        row.org_id,
        row.stripe_customer_id,
        row.period_from,
        row.period_to,
        row.amount_due_cents,
        row.currency,
        row.status,
        row.line_count,
      ],
    );
    return rows[0] && toRow(rows[0]);
  }

  async findPeriod(orgId: string, from: Date, to: Date): Promise<StripeInvoiceRow | undefined> {
    const { rows } = await this.db.query<Selected>(
      `SELECT ${COLUMNS} FROM stripe_invoices WHERE org_id = $1 AND period_from = $2 AND period_to = $3`,
      [orgId, from, to],
    );
    return rows[0] && toRow(rows[0]);
  }

  /** Records what Stripe made of the claim. */
  async completed(id: string, stripe: { invoiceId: string; status: StripeInvoiceStatus; hostedUrl: string | null }) {
    const { rows } = await this.db.query<Selected>(
      `UPDATE stripe_invoices SET stripe_invoice_id = $2, status = $3, hosted_invoice_url = $4, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, stripe.invoiceId, stripe.status, stripe.hostedUrl],
    );
    return toRow(rows[0]!);
  }

  async list(orgId: string, limit: number): Promise<StripeInvoiceRow[]> {
    const { rows } = await this.db.query<Selected>(
      `SELECT ${COLUMNS} FROM stripe_invoices WHERE org_id = $1 AND stripe_invoice_id IS NOT NULL
       ORDER BY period_from DESC, id DESC LIMIT $2`,
      [orgId, limit],
    );
    return rows.map(toRow);
  }

  /** Records an event id; false when it was recorded before (a redelivery). */
  async firstDelivery(eventId: string, type: string): Promise<boolean> {
    const { affected } = await this.db.query(`INSERT INTO stripe_webhook_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
      eventId,
      type,
    ]);
    return affected === 1;
  }

  async noteEventOrg(eventId: string, orgId: string): Promise<void> {
    await this.db.query(`UPDATE stripe_webhook_events SET org_id = $2 WHERE id = $1`, [eventId, orgId]);
  }

  /** The invoice's new status; the rows changed. */
  async setStatusByStripeId(stripeInvoiceId: string, status: StripeInvoiceStatus): Promise<StripeInvoiceRow[]> {
    const { rows } = await this.db.query<Selected>(
      `UPDATE stripe_invoices SET status = $2, updated_at = now() WHERE stripe_invoice_id = $1 RETURNING ${COLUMNS}`,
      [stripeInvoiceId, status],
    );
    return rows.map(toRow);
  }

  /** A deleted customer's unpaid invoices can no longer be collected. */
  async customerDeleted(customerId: string): Promise<StripeInvoiceRow[]> {
    const { rows } = await this.db.query<Selected>(
      `UPDATE stripe_invoices SET status = 'customer_deleted', updated_at = now()
       WHERE stripe_customer_id = $1 AND status NOT IN ('paid', 'void') RETURNING ${COLUMNS}`,
      [customerId],
    );
    return rows.map(toRow);
  }
}
