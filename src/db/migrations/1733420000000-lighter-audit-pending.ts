import { sqlMigration } from './sql-migration';

/**
 * Every audited operation inserts one row here and its chainer deletes it moments later: the row
 * is kept as the JSON text it was written as (`json`, checked, not converted), and found through
 * its primary key alone (a chain's pending rows are few, and taken oldest first).
 */
export const LighterAuditPending1733420000000 = sqlMigration(
  'LighterAuditPending1733420000000',
  [`ALTER TABLE audit_pending ALTER COLUMN event TYPE json USING event::json`, `DROP INDEX audit_pending_org_idx`],
  [
    `CREATE INDEX audit_pending_org_idx ON audit_pending (org_id, id)`,
    `ALTER TABLE audit_pending ALTER COLUMN event TYPE jsonb USING event::jsonb`,
  ],
);
