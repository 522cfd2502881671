import { sqlMigration } from './sql-migration';

/**
 * The agents' job queue. `visible_at` is when a job may next be claimed: its enqueueing while
 * queued, its lease's end while claimed. One partial index in that order serves every claim: a
 * queued job and a claimed one whose lease ran out are found alike, the oldest first.
 * `agent_id` pins a job to one agent; `claimed_by` is the agent holding (or that last held) it.
 */
export const Jobs1733120000000 = sqlMigration(
  'Jobs1733120000000',
  [
    `CREATE TABLE jobs (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('read', 'patch', 'custom')),
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'claimed', 'completed', 'failed')),
      cluster_name text NOT NULL,
      agent_id text REFERENCES agents (id) ON DELETE CASCADE,
      claimed_by text REFERENCES agents (id) ON DELETE SET NULL,
      request_id text,
      payload jsonb NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
      visible_at timestamptz NOT NULL DEFAULT now(),
      claimed_at timestamptz,
      completed_at timestamptz,
      error text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX jobs_claimable_idx ON jobs (org_id, visible_at, id) WHERE status IN ('queued', 'claimed')`,
    `CREATE INDEX jobs_leases_idx ON jobs (org_id, visible_at) WHERE status = 'claimed'`,
    `CREATE INDEX jobs_org_idx ON jobs (org_id, id)`,
    `CREATE INDEX jobs_request_idx ON jobs (request_id) WHERE request_id IS NOT NULL`,
    `CREATE INDEX jobs_agent_idx ON jobs (agent_id) WHERE agent_id IS NOT NULL`,
    `CREATE INDEX jobs_claimed_by_idx ON jobs (claimed_by) WHERE claimed_by IS NOT NULL`,
  ],
  [`DROP TABLE jobs`],
);
