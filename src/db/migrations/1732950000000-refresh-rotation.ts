import { sqlMigration } from './sql-migration';

/**
 * Refresh tokens rotate on every use. A rotated token's row keeps, for the grace window only,
 * the pair it was exchanged for, encrypted under a key derived from the rotated token itself
 * (which the database never holds), so a network retry gets the same pair back; the index finds
 * the ciphertexts whose window has closed, to erase them.
 */
export const RefreshRotation1732950000000 = sqlMigration(
  'RefreshRotation1732950000000',
  [
    `ALTER TABLE superseded_refresh_tokens ADD COLUMN replacement_version integer, ADD COLUMN replay_ciphertext bytea`,
    `CREATE INDEX superseded_refresh_tokens_replay_idx ON superseded_refresh_tokens (superseded_at) WHERE replay_ciphertext IS NOT NULL`,
  ],
  [
    `DROP INDEX superseded_refresh_tokens_replay_idx`,
    `ALTER TABLE superseded_refresh_tokens DROP COLUMN replay_ciphertext, DROP COLUMN replacement_version`,
  ],
);
