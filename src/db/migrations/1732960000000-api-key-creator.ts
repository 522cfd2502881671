import { sqlMigration } from './sql-migration';

/**
 * An API key keeps naming the user who created it after that user is deleted. With the old
 * `ON DELETE SET NULL` a deleted user's keys looked like first-start keys, which are bounded by
 * the owner role, so deleting a user widened their keys; now the authenticator sees a creator
 * that is gone and refuses the key.
 */
export const ApiKeyCreator1732960000000 = sqlMigration(
  'ApiKeyCreator1732960000000',
  [`ALTER TABLE api_keys DROP CONSTRAINT api_keys_created_by_fkey`],
  [
    `UPDATE api_keys k SET created_by = NULL, revoked_at = COALESCE(k.revoked_at, now())
     WHERE k.created_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = k.created_by)`,
    `ALTER TABLE api_keys ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL`,
  ],
);
