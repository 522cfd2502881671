import { sqlMigration } from './sql-migration';

/**
 * Access requests (seed 002), their approvers' decisions, and the single-shot wraps that carry a
 * secret's value between an agent and a person. A request copies what it was judged under (the
 * secret's location, the workflow version and its rules), so later edits do not change it.
 * `status` is what was last written: a pending request past `expires_at` reads as expired and is
 * written so lazily. A wrap's value lives only as `ciphertext`, under its own data key
 * (`wrapped_dek`, wrapped by the KEK `kek_id`); both are erased when it is retrieved or expires.
 */
export const AccessRequests1733140000000 = sqlMigration(
  'AccessRequests1733140000000',
  [
    `CREATE TABLE access_requests (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('read', 'patch')),
      status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled', 'expired', 'running', 'completed', 'failed')),
      requester_id text NOT NULL,
      project_id text NOT NULL,
      project_name text NOT NULL,
      environment_id text NOT NULL,
      environment_name text NOT NULL,
      secret_id text NOT NULL,
      cluster_name text NOT NULL,
      provider text NOT NULL,
      ref text NOT NULL,
      justification text NOT NULL,
      expires_at timestamptz NOT NULL,
      workflow_id text,
      workflow_version integer,
      required_approvals integer NOT NULL CHECK (required_approvals BETWEEN 0 AND 10),
      approver_roles text[] NOT NULL DEFAULT '{}',
      job_id text,
      decided_by text,
      decision_reason text,
      decided_at timestamptz,
      completed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX access_requests_org_idx ON access_requests (org_id, id)`,
    `CREATE INDEX access_requests_requester_idx ON access_requests (org_id, requester_id, id)`,
    `CREATE INDEX access_requests_pending_idx ON access_requests (expires_at) WHERE status = 'pending'`,
    `CREATE TABLE access_request_approvals (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      request_id text NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
      approver_id text NOT NULL,
      decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
      comment text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (request_id, approver_id)
    )`,
    `CREATE TABLE wraps (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      request_id text NOT NULL UNIQUE REFERENCES access_requests (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('read', 'patch')),
      created_by text NOT NULL,
      size_bytes integer NOT NULL,
      kek_id text,
      wrapped_dek bytea,
      ciphertext bytea,
      expires_at timestamptz NOT NULL,
      retrieved_at timestamptz,
      retrieved_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((ciphertext IS NULL) = (wrapped_dek IS NULL))
    )`,
    `CREATE INDEX wraps_live_idx ON wraps (expires_at) WHERE ciphertext IS NOT NULL`,
  ],
  [`DROP TABLE wraps`, `DROP TABLE access_request_approvals`, `DROP TABLE access_requests`],
);
