import { sqlMigration } from './sql-migration';

/** The audit log: one hash chain per org (or `platform`), each chain's head, retention and its signed checkpoints. */
export const Audit1732700000000 = sqlMigration(
  'Audit1732700000000',
  [
    `CREATE TABLE audit_events (
      id text PRIMARY KEY,
      org_id text NOT NULL,
      seq bigint NOT NULL,
      occurred_at timestamptz NOT NULL,
      actor_type text NOT NULL,
      actor_id text,
      workspace_id text,
      action text NOT NULL,
      resource_type text NOT NULL,
      resource_id text,
      outcome text NOT NULL,
      request_id text,
      ip text,
      user_agent text,
      details jsonb NOT NULL,
      prev_hash bytea NOT NULL,
      hash bytea NOT NULL,
      UNIQUE (org_id, seq)
    )`,
    `CREATE INDEX audit_events_workspace_idx ON audit_events (org_id, workspace_id, seq)`,
    `CREATE INDEX audit_events_request_idx ON audit_events (request_id)`,
    // Appends lock their chain's head row, so writers from any connection or instance queue up
    // and each takes the next seq; the head also shows when events were cut from the end.
    `CREATE TABLE audit_chain_heads (
      org_id text PRIMARY KEY,
      seq bigint NOT NULL,
      hash bytea NOT NULL
    )`,
    `ALTER TABLE orgs ADD COLUMN audit_log_retention_days integer`,
    // Where a retention purge cut the chain: the last deleted event's seq and hash, signed by Warden.
    `CREATE TABLE audit_checkpoints (
      org_id text PRIMARY KEY,
      seq bigint NOT NULL,
      hash bytea NOT NULL,
      cut_at timestamptz NOT NULL,
      key_id text NOT NULL,
      signature bytea NOT NULL
    )`,
  ],
  [
    `DROP TABLE audit_checkpoints`,
    `ALTER TABLE orgs DROP COLUMN audit_log_retention_days`,
    `DROP TABLE audit_chain_heads`,
    `DROP TABLE audit_events`,
  ],
);
