import { sqlMigration } from './sql-migration';

/**
 * OIDC sign-ins in flight: what the callback must check (nonce) and prove (PKCE verifier), keyed
 * by a digest of the `state` the browser carries, so any instance can finish a sign-in another
 * started. Each is used once and lives minutes; expired rows are deleted as new ones come.
 */
export const OidcLoginAttempts1733200000000 = sqlMigration(
  'OidcLoginAttempts1733200000000',
  [
    `CREATE TABLE oidc_login_attempts (
      state_digest bytea PRIMARY KEY,
      nonce text NOT NULL,
      code_verifier text NOT NULL,
      redirect_url text,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      consumed_at timestamptz
    )`,
    `CREATE INDEX oidc_login_attempts_expiry_idx ON oidc_login_attempts (expires_at)`,
  ],
  [`DROP TABLE oidc_login_attempts`],
);
