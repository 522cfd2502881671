import { sqlMigration } from './sql-migration';

/** Agents, install tokens, installations and their runtime and refresh tokens. */
export const Agents1732600000000 = sqlMigration(
  'Agents1732600000000',
  [
    `CREATE TABLE agents (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      workspace_id text REFERENCES workspaces (id) ON DELETE CASCADE,
      sekuire_id text UNIQUE CHECK (sekuire_id ~ '^[0-9a-f]{64}$'),
      name text NOT NULL,
      version text,
      public_key text,
      manifest_hash text,
      wire_public_key text,
      daily_budget numeric,
      policy_ids text[] NOT NULL DEFAULT '{}',
      secret_digest bytea UNIQUE,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'revoked')),
      disabled_reason text,
      disabled_until timestamptz,
      revoked_at timestamptz,
      last_seen_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX agents_org_id_idx ON agents (org_id, id)`,
    `CREATE INDEX agents_workspace_idx ON agents (workspace_id)`,
    `CREATE TABLE installations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
      agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      upstream_url text,
      capabilities text[] NOT NULL DEFAULT '{}',
      heartbeat_interval integer NOT NULL,
      reported_status text,
      health_payload jsonb,
      lease_expires_at timestamptz,
      last_lease_at timestamptz,
      token_version integer NOT NULL DEFAULT 1,
      last_refreshed_at timestamptz,
      refresh_token_digest bytea UNIQUE,
      beacon_platform text,
      beacon_metadata jsonb,
      beacon_registered_at timestamptz,
      revoked_at timestamptz,
      revoke_reason text,
      shutdown_timeout_ms integer,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX installations_agent_idx ON installations (agent_id, workspace_id)`,
    `CREATE INDEX installations_workspace_idx ON installations (workspace_id)`,
    // Valid while token_version equals the installation's: a refresh retires every older token.
    `CREATE TABLE runtime_tokens (
      token_digest bytea PRIMARY KEY,
      installation_id text NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
      token_version integer NOT NULL,
      expires_at timestamptz NOT NULL
    )`,
    `CREATE INDEX runtime_tokens_installation_idx ON runtime_tokens (installation_id)`,
    // Refresh tokens replaced by a recovery: presenting one again revokes the installation's tokens.
    `CREATE TABLE superseded_refresh_tokens (
      token_digest bytea PRIMARY KEY,
      installation_id text NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
      superseded_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE install_tokens (
      token_digest bytea PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
      agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      installation_id text REFERENCES installations (id) ON DELETE CASCADE
    )`,
  ],
  [
    `DROP TABLE install_tokens`,
    `DROP TABLE superseded_refresh_tokens`,
    `DROP TABLE runtime_tokens`,
    `DROP TABLE installations`,
    `DROP TABLE agents`,
  ],
);
