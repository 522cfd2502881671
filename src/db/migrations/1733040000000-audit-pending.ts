import { sqlMigration } from './sql-migration';

/**
 * Events an operation wrote in its own transaction, waiting to be chained. An operation no longer
 * holds its chain's head through its commit: it inserts here (no lock), and right after the
 * commit a chainer moves every waiting event of the chain into `audit_events` in one batch.
 */
export const AuditPending1733040000000 = sqlMigration(
  'AuditPending1733040000000',
  [
    `CREATE TABLE audit_pending (
      id bigserial PRIMARY KEY,
      org_id text NOT NULL,
      event jsonb NOT NULL
    )`,
    `CREATE INDEX audit_pending_org_idx ON audit_pending (org_id, id)`,
  ],
  [`DROP TABLE audit_pending`],
);
