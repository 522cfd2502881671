import { sqlMigration } from './sql-migration';

/**
 * Seed 003's entry points: a user's first and last names (reported by `GET /api/v1/me`), and an
 * API key's own request budget per minute (null: the configured default).
 */
export const EntryPoints1733210000001 = sqlMigration(
  'EntryPoints1733210000001',
  [
    `ALTER TABLE users ADD COLUMN first_name text, ADD COLUMN last_name text`,
    `ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute BETWEEN 1 AND 100000)`,
  ],
  [`ALTER TABLE api_keys DROP COLUMN rate_limit_per_minute`, `ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name`],
);
