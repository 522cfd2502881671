import { sqlMigration } from './sql-migration';

/**
 * Human approvals of agents' governed calls, and where each org announces new ones. Costs are
 * integer micro-dollars. `status` is what was last written: a pending or approved row past
 * `expires_at` reads as expired, and is written so lazily.
 */
export const Approvals1733020000000 = sqlMigration(
  'Approvals1733020000000',
  [
    `CREATE TABLE approvals (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      key_id text,
      action text NOT NULL,
      method text NOT NULL,
      path text NOT NULL,
      cost_micros bigint NOT NULL CHECK (cost_micros >= 0),
      policy_id text,
      policy_version integer,
      request_id text,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'used')),
      reason text,
      decided_by text,
      decided_at timestamptz,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX approvals_org_idx ON approvals (org_id, id)`,
    `CREATE INDEX approvals_org_status_idx ON approvals (org_id, status, id)`,
    `CREATE INDEX approvals_agent_idx ON approvals (agent_id)`,
    `CREATE TABLE approval_settings (
      org_id text PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
      slack_webhook_url text,
      webhook_url text,
      webhook_secret_version integer NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
  [`DROP TABLE approval_settings`, `DROP TABLE approvals`],
);
