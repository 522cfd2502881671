import { sqlMigration } from './sql-migration';

/**
 * Vendors an org's agents call through Warden, with their API key encrypted under the org's data
 * key (`data_keys`, wrapped by the key-encryption key), and gateway keys binding one agent to one
 * vendor. A deleted vendor keeps its row (its gateway keys then answer 403, not 401) but loses
 * its ciphertext. One data key per org until rotation exists.
 */
export const Vendors1733010000000 = sqlMigration(
  'Vendors1733010000000',
  [
    `CREATE TABLE data_keys (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      kek_id text NOT NULL,
      wrapped bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX data_keys_org_idx ON data_keys (org_id)`,
    `CREATE TABLE vendors (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      name text NOT NULL,
      base_url text NOT NULL,
      auth_type text NOT NULL CHECK (auth_type IN ('bearer', 'header', 'query', 'basic')),
      header_name text,
      cost_header text,
      api_key_ciphertext text,
      api_key_last_four text,
      credential_rotated_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )`,
    `CREATE INDEX vendors_org_idx ON vendors (org_id, id)`,
    `CREATE UNIQUE INDEX vendors_live_name_idx ON vendors (org_id, lower(name)) WHERE deleted_at IS NULL`,
    `CREATE TABLE gateway_keys (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      vendor_id text NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
      secret_digest bytea NOT NULL UNIQUE,
      prefix text NOT NULL,
      last_four text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )`,
    `CREATE INDEX gateway_keys_org_idx ON gateway_keys (org_id, id)`,
    `CREATE INDEX gateway_keys_agent_idx ON gateway_keys (agent_id)`,
    `CREATE INDEX gateway_keys_vendor_idx ON gateway_keys (vendor_id)`,
  ],
  [`DROP TABLE gateway_keys`, `DROP TABLE vendors`, `DROP TABLE data_keys`],
);
