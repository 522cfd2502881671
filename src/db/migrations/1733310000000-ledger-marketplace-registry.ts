import { sqlMigration } from './sql-migration';

/**
 * The double-entry ledger (accounts per org, agent and currency; transfers; their two entries), the
 * marketplace's hires and the registry network's listings. A balance below zero is refused by the
 * database too (the service checks first, under row locks), except the outside world's account per
 * currency, which goes negative by what has been deposited: the sum of all balances stays zero.
 */
export const LedgerMarketplaceRegistry1733310000000 = sqlMigration(
  'LedgerMarketplaceRegistry1733310000000',
  [
    `CREATE TABLE ledger_accounts (
      id text PRIMARY KEY,
      owner_type text NOT NULL CHECK (owner_type IN ('org', 'agent', 'external')),
      org_id text REFERENCES orgs(id) ON DELETE CASCADE,
      agent_id text,
      currency text NOT NULL,
      network text,
      balance bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (owner_type = 'external' OR balance >= 0),
      CHECK ((owner_type = 'external') = (org_id IS NULL)),
      CHECK ((owner_type = 'agent') = (agent_id IS NOT NULL))
    )`,
    `CREATE UNIQUE INDEX ledger_accounts_org_idx ON ledger_accounts (org_id, currency) WHERE owner_type = 'org'`,
    `CREATE UNIQUE INDEX ledger_accounts_agent_idx ON ledger_accounts (agent_id, currency) WHERE owner_type = 'agent'`,
    `CREATE UNIQUE INDEX ledger_accounts_external_idx ON ledger_accounts (currency) WHERE owner_type = 'external'`,
    `CREATE TABLE ledger_transfers (
      id text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('transfer', 'hire_charge', 'deposit')),
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      from_agent_id text,
      from_account_id text NOT NULL REFERENCES ledger_accounts(id),
      to_account_id text REFERENCES ledger_accounts(id),
      to_agent_id text,
      to_address text,
      rail text NOT NULL,
      currency text NOT NULL,
      amount bigint NOT NULL CHECK (amount > 0),
      amount_usd_micros bigint,
      network text,
      asset text,
      mandate_id text,
      has_shared_payment_token boolean NOT NULL DEFAULT false,
      status text NOT NULL CHECK (status IN ('settled', 'pending')),
      pending_reason text,
      approval_id text,
      idempotency_scope text,
      idempotency_key text,
      request_digest bytea,
      metadata jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      settled_at timestamptz
    )`,
    `CREATE UNIQUE INDEX ledger_transfers_idempotency_idx ON ledger_transfers (idempotency_scope, idempotency_key)
      WHERE idempotency_key IS NOT NULL`,
    `CREATE INDEX ledger_transfers_org_created_idx ON ledger_transfers (org_id, created_at)`,
    `CREATE INDEX ledger_transfers_created_idx ON ledger_transfers (created_at)`,
    `CREATE INDEX ledger_transfers_approval_idx ON ledger_transfers (approval_id) WHERE approval_id IS NOT NULL`,
    `CREATE TABLE ledger_entries (
      id bigserial PRIMARY KEY,
      transfer_id text NOT NULL REFERENCES ledger_transfers(id),
      account_id text NOT NULL REFERENCES ledger_accounts(id),
      amount bigint NOT NULL CHECK (amount <> 0),
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX ledger_entries_transfer_idx ON ledger_entries (transfer_id)`,
    `CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id)`,
    `CREATE TABLE marketplace_hires (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      agent_id text NOT NULL,
      pricing_model text NOT NULL,
      rail text NOT NULL,
      currency text NOT NULL,
      amount bigint,
      amount_usd_micros bigint,
      network text,
      asset text,
      daily_budget_micros bigint,
      charge_transfer_id text REFERENCES ledger_transfers(id),
      idempotency_key text,
      request_digest bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, agent_id)
    )`,
    `CREATE UNIQUE INDEX marketplace_hires_idempotency_idx ON marketplace_hires (org_id, idempotency_key)
      WHERE idempotency_key IS NOT NULL`,
    `CREATE INDEX marketplace_hires_created_idx ON marketplace_hires (created_at)`,
    `CREATE TABLE registry_listings (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      agent_id text NOT NULL UNIQUE REFERENCES agents(id) ON DELETE CASCADE,
      category text NOT NULL,
      description text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX registry_listings_category_idx ON registry_listings (category, created_at)`,
  ],
  [
    `DROP TABLE registry_listings`,
    `DROP TABLE marketplace_hires`,
    `DROP TABLE ledger_entries`,
    `DROP TABLE ledger_transfers`,
    `DROP TABLE ledger_accounts`,
  ],
);
