import { sqlMigration } from './sql-migration';

/**
 * The Argo CD integration: endpoints with their API token encrypted under the org's data key,
 * which applications consume which discovered secrets, and what Warden saw of those applications
 * after a patch. Observations copy the endpoint id and application name and name their access
 * request without a foreign key: they outlive a deleted mapping or endpoint, and access requests
 * belong to another module whose table comes later.
 */
export const Gitops1733130000000 = sqlMigration(
  'Gitops1733130000000',
  [
    `CREATE TABLE argocd_endpoints (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      name text NOT NULL,
      base_url text NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      token_ciphertext text NOT NULL,
      token_last_four text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX argocd_endpoints_org_idx ON argocd_endpoints (org_id, id)`,
    `CREATE UNIQUE INDEX argocd_endpoints_name_idx ON argocd_endpoints (org_id, lower(name))`,
    `CREATE TABLE gitops_app_mappings (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      argocd_endpoint_id text NOT NULL REFERENCES argocd_endpoints (id) ON DELETE CASCADE,
      app_name text NOT NULL,
      cluster_name text NOT NULL,
      provider text,
      ref_prefix text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX gitops_app_mappings_org_idx ON gitops_app_mappings (org_id, id)`,
    `CREATE INDEX gitops_app_mappings_cluster_idx ON gitops_app_mappings (org_id, cluster_name)`,
    `CREATE INDEX gitops_app_mappings_endpoint_idx ON gitops_app_mappings (argocd_endpoint_id)`,
    `CREATE UNIQUE INDEX gitops_app_mappings_unique_idx
      ON gitops_app_mappings (argocd_endpoint_id, app_name, cluster_name, coalesce(provider, ''), coalesce(ref_prefix, ''))`,
    `CREATE TABLE gitops_observations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      request_id text NOT NULL,
      argocd_endpoint_id text NOT NULL,
      mapping_id text NOT NULL,
      app_name text NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'observing', 'synced', 'timed_out')),
      applied_at timestamptz NOT NULL,
      transitions jsonb NOT NULL DEFAULT '[]',
      last_checked_at timestamptz,
      last_error text,
      settled_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX gitops_observations_request_idx ON gitops_observations (org_id, request_id, argocd_endpoint_id, app_name)`,
  ],
  [`DROP TABLE gitops_observations`, `DROP TABLE gitops_app_mappings`, `DROP TABLE argocd_endpoints`],
);
