import { sqlMigration } from './sql-migration';

/**
 * Per-org billing settings (a fee column left null takes the operator's configured default), the
 * Stripe invoice of each billed period (unique per period, so invoicing it twice finds the first)
 * and the Stripe webhook events already processed (by event id, so a redelivery changes nothing).
 */
export const BillingStripe1733300000000 = sqlMigration(
  'BillingStripe1733300000000',
  [
    `CREATE TABLE billing_settings (
      org_id text PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
      stripe_customer_id text UNIQUE,
      billing_email text,
      monthly_retainer_cents bigint NOT NULL DEFAULT 0 CHECK (monthly_retainer_cents >= 0),
      currency text NOT NULL DEFAULT 'usd',
      collection_method text NOT NULL DEFAULT 'charge_automatically',
      days_until_due integer NOT NULL DEFAULT 30,
      stripe_enabled boolean NOT NULL DEFAULT true,
      take_rate_bps integer,
      fee_mode text,
      fee_per_action_micros bigint,
      default_daily_budget_micros bigint,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE stripe_invoices (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      stripe_invoice_id text UNIQUE,
      stripe_customer_id text NOT NULL,
      period_from timestamptz NOT NULL,
      period_to timestamptz NOT NULL,
      amount_due_cents bigint NOT NULL CHECK (amount_due_cents >= 0),
      currency text NOT NULL,
      status text NOT NULL,
      hosted_invoice_url text,
      line_count integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, period_from, period_to)
    )`,
    `CREATE INDEX stripe_invoices_customer_idx ON stripe_invoices (stripe_customer_id)`,
    `CREATE TABLE stripe_webhook_events (
      id text PRIMARY KEY,
      type text NOT NULL,
      org_id text,
      received_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
  [`DROP TABLE stripe_webhook_events`, `DROP TABLE stripe_invoices`, `DROP TABLE billing_settings`],
);
