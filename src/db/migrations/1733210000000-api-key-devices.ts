import { sqlMigration } from './sql-migration';

/**
 * The devices an API key is bound to (seed 004's device binding). Authentication probes
 * `(api_key_id, fingerprint)` on every request with a key, so the unique index doubles as the
 * lookup, and its leading column answers "has this key any device" too.
 */
export const ApiKeyDevices1733210000000 = sqlMigration(
  'ApiKeyDevices1733210000000',
  [
    `CREATE TABLE api_key_devices (
      id text PRIMARY KEY,
      api_key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
      fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
      name text NOT NULL,
      os text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz
    )`,
    `CREATE UNIQUE INDEX api_key_devices_fingerprint_idx ON api_key_devices (api_key_id, fingerprint)`,
  ],
  [`DROP TABLE api_key_devices`],
);
