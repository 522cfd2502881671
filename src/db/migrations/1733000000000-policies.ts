import { sqlMigration } from './sql-migration';

/**
 * Policies and their versions. A version is never changed once written: a decision records the
 * policy id and version it used, so every version stays readable, also after the policy is
 * deleted (which only marks it). Names are unique among an org's live policies. Workspaces name
 * policies like agents do; the GIN indexes find who names a policy when it is deleted.
 */
export const Policies1733000000000 = sqlMigration(
  'Policies1733000000000',
  [
    `CREATE TABLE policies (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      name text NOT NULL,
      current_version integer NOT NULL CHECK (current_version >= 1),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )`,
    `CREATE INDEX policies_org_idx ON policies (org_id, id)`,
    `CREATE UNIQUE INDEX policies_live_name_idx ON policies (org_id, lower(name)) WHERE deleted_at IS NULL`,
    `CREATE TABLE policy_versions (
      policy_id text NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
      version integer NOT NULL CHECK (version >= 1),
      name text NOT NULL,
      allowed_actions text[] NOT NULL,
      denied_path_prefixes text[] NOT NULL,
      max_cost_per_request_micros bigint CHECK (max_cost_per_request_micros >= 0),
      require_approval boolean NOT NULL,
      approval_min_cost_micros bigint CHECK (approval_min_cost_micros >= 0),
      approval_actions text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (policy_id, version)
    )`,
    `ALTER TABLE workspaces ADD COLUMN policy_ids text[] NOT NULL DEFAULT '{}'`,
    `CREATE INDEX agents_policy_ids_idx ON agents USING gin (policy_ids)`,
    `CREATE INDEX workspaces_policy_ids_idx ON workspaces USING gin (policy_ids)`,
  ],
  [
    `DROP INDEX workspaces_policy_ids_idx`,
    `DROP INDEX agents_policy_ids_idx`,
    `ALTER TABLE workspaces DROP COLUMN policy_ids`,
    `DROP TABLE policy_versions`,
    `DROP TABLE policies`,
  ],
);
