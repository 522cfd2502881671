import { sqlMigration } from './sql-migration';

/**
 * A used install token keeps, for the 60 s bootstrap window only, the answer of its bootstrap,
 * encrypted under a key derived from the install token itself (like a rotated refresh token's
 * pair), so a retry gets the same credentials instead of new ones; the index finds the
 * ciphertexts whose window has closed, to erase them.
 */
export const BootstrapReplay1732970000000 = sqlMigration(
  'BootstrapReplay1732970000000',
  [
    `ALTER TABLE install_tokens ADD COLUMN replay_ciphertext bytea`,
    `CREATE INDEX install_tokens_replay_idx ON install_tokens (used_at) WHERE replay_ciphertext IS NOT NULL`,
  ],
  [`DROP INDEX install_tokens_replay_idx`, `ALTER TABLE install_tokens DROP COLUMN replay_ciphertext`],
);
