import { sqlMigration } from './sql-migration';

/**
 * Seed 002's projects are workspaces: they gain a status, and an archived one takes no new
 * environments or access requests. Workflows decide how access requests are approved; like
 * policies, a version is never changed once written (a request records the id and version it
 * was judged under) and a deleted workflow is only marked, so every version stays readable.
 * A version's priority orders the org's workflows when a request is judged.
 */
export const ProjectsWorkflows1733100000000 = sqlMigration(
  'ProjectsWorkflows1733100000000',
  [
    `ALTER TABLE workspaces ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived'))`,
    `ALTER TABLE workspaces ADD COLUMN archived_at timestamptz`,
    `CREATE TABLE workflows (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      name text NOT NULL,
      current_version integer NOT NULL CHECK (current_version >= 1),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )`,
    `CREATE INDEX workflows_org_idx ON workflows (org_id, id)`,
    `CREATE UNIQUE INDEX workflows_live_name_idx ON workflows (org_id, lower(name)) WHERE deleted_at IS NULL`,
    `CREATE TABLE workflow_versions (
      workflow_id text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
      version integer NOT NULL CHECK (version >= 1),
      name text NOT NULL,
      description text NOT NULL,
      match jsonb NOT NULL,
      required_approvals integer NOT NULL CHECK (required_approvals BETWEEN 0 AND 10),
      approver_roles text[] NOT NULL,
      auto_approve boolean NOT NULL,
      priority integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workflow_id, version),
      CHECK (auto_approve = (required_approvals = 0))
    )`,
  ],
  [
    `DROP TABLE workflow_versions`,
    `DROP TABLE workflows`,
    `ALTER TABLE workspaces DROP COLUMN archived_at`,
    `ALTER TABLE workspaces DROP COLUMN status`,
  ],
);
