import { sqlMigration } from './sql-migration';

/** Orgs, users, workspaces, roles, API keys, sessions, admin PINs, rate limits and the mail outbox. */
export const Identity1732400000000 = sqlMigration(
  'Identity1732400000000',
  [
    `CREATE TABLE orgs (
      id text PRIMARY KEY,
      name text NOT NULL,
      plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'starter', 'professional', 'enterprise')),
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE users (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      email text NOT NULL,
      password_hash text,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
      email_verified_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_login_at timestamptz
    )`,
    // Login is by email alone, so an email names one user across all orgs.
    `CREATE UNIQUE INDEX users_email_key ON users (lower(email))`,
    `CREATE INDEX users_org_id_idx ON users (org_id, id)`,
    `CREATE TABLE workspaces (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX workspaces_org_name_key ON workspaces (org_id, lower(name))`,
    `CREATE INDEX workspaces_org_id_idx ON workspaces (org_id, id)`,
    `CREATE TABLE workspace_members (
      workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
      user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, user_id)
    )`,
    `CREATE TABLE roles (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      permissions text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX roles_org_name_key ON roles (org_id, name)`,
    // role_id names a custom role or a built-in one (rol_owner …), so it has no foreign key;
    // deleting a custom role deletes its assignments in the same transaction.
    `CREATE TABLE user_roles (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (user_id, role_id)
    )`,
    `CREATE INDEX user_roles_org_id_idx ON user_roles (org_id, id)`,
    `CREATE TABLE api_keys (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      created_by text REFERENCES users (id) ON DELETE SET NULL,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      mode text NOT NULL CHECK (mode IN ('live', 'test')),
      permissions text[] NOT NULL,
      prefix text NOT NULL,
      last_four text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      last_used_at timestamptz,
      revoked_at timestamptz
    )`,
    `CREATE INDEX api_keys_org_id_idx ON api_keys (org_id, id)`,
    // A key has one current secret and, after a roll, the previous ones until their grace ends.
    `CREATE TABLE api_key_secrets (
      secret_digest bytea PRIMARY KEY,
      api_key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
      retires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX api_key_secrets_key_idx ON api_key_secrets (api_key_id)`,
    `CREATE TABLE sessions (
      id text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('user', 'admin')),
      user_id text REFERENCES users (id) ON DELETE CASCADE,
      admin_email text,
      token_digest bytea UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      CHECK ((kind = 'user') = (user_id IS NOT NULL)),
      CHECK ((kind = 'admin') = (admin_email IS NOT NULL AND token_digest IS NOT NULL))
    )`,
    `CREATE TABLE admin_pin_challenges (
      id uuid PRIMARY KEY,
      email text NOT NULL,
      pin_digest bytea NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      consumed_at timestamptz
    )`,
    `CREATE TABLE rate_limit_hits (
      bucket text NOT NULL,
      subject text NOT NULL,
      window_start timestamptz NOT NULL,
      hits integer NOT NULL,
      PRIMARY KEY (bucket, subject, window_start)
    )`,
    `CREATE TABLE email_outbox (
      id text PRIMARY KEY,
      recipient text NOT NULL,
      subject text NOT NULL,
      status text NOT NULL CHECK (status IN ('sent', 'logged', 'failed', 'in_response')),
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE instance_secrets (
      name text PRIMARY KEY,
      value bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
  [
    `DROP TABLE instance_secrets`,
    `DROP TABLE email_outbox`,
    `DROP TABLE rate_limit_hits`,
    `DROP TABLE admin_pin_challenges`,
    `DROP TABLE sessions`,
    `DROP TABLE api_key_secrets`,
    `DROP TABLE api_keys`,
    `DROP TABLE user_roles`,
    `DROP TABLE roles`,
    `DROP TABLE workspace_members`,
    `DROP TABLE workspaces`,
    `DROP TABLE users`,
    `DROP TABLE orgs`,
  ],
);
