import { sqlMigration } from './sql-migration';

/**
 * Secrets the org's agents found in their clusters: where each lives and its labels, never its
 * value. One row per (org, cluster, provider, ref), upserted by the agents' bulk reports.
 * `agent_id` is the last reporter; `reported_by` every agent that ever reported the row, so
 * the clusters an agent serves survive another agent's later report of the same secret.
 */
export const DiscoveredSecrets1733110000000 = sqlMigration(
  'DiscoveredSecrets1733110000000',
  [
    `CREATE TABLE discovered_secrets (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      cluster_name text NOT NULL,
      provider text NOT NULL,
      ref text NOT NULL,
      labels jsonb NOT NULL DEFAULT '{}',
      status text NOT NULL CHECK (status IN ('active', 'deleted', 'error')),
      agent_id text REFERENCES agents (id) ON DELETE SET NULL,
      reported_by text[] NOT NULL DEFAULT '{}',
      first_seen timestamptz NOT NULL,
      last_seen timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX discovered_secrets_ref_idx ON discovered_secrets (org_id, cluster_name, provider, ref)`,
    `CREATE INDEX discovered_secrets_org_idx ON discovered_secrets (org_id, id)`,
    `CREATE INDEX discovered_secrets_labels_idx ON discovered_secrets USING gin (labels jsonb_path_ops)`,
    `CREATE INDEX discovered_secrets_reporters_idx ON discovered_secrets USING gin (reported_by)`,
    `CREATE INDEX discovered_secrets_agent_idx ON discovered_secrets (agent_id)`,
  ],
  [`DROP TABLE discovered_secrets`],
);
