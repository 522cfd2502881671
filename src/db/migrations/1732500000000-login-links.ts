import { sqlMigration } from './sql-migration';

/** Magic-link and email-verification tokens, signup idempotency keys, and workspace environments. */
export const LoginLinks1732500000000 = sqlMigration(
  'LoginLinks1732500000000',
  [
    `CREATE TABLE login_links (
      token_digest bytea PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('magic_link', 'email_verification')),
      user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      redirect_url text,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      consumed_at timestamptz
    )`,
    `CREATE INDEX login_links_user_idx ON login_links (user_id, kind)`,
    // The request is kept as an HMAC and the result as ids: neither a password nor a token is stored.
    `CREATE TABLE signup_idempotency_keys (
      key text PRIMARY KEY,
      request_hmac bytea NOT NULL,
      org_id text REFERENCES orgs (id) ON DELETE CASCADE,
      user_id text REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE environments (
      id text PRIMARY KEY,
      workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX environments_workspace_name_key ON environments (workspace_id, lower(name))`,
  ],
  [`DROP TABLE environments`, `DROP TABLE signup_idempotency_keys`, `DROP TABLE login_links`],
);
