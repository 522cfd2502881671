import { sqlMigration } from './sql-migration';

/**
 * Events by actor and by resource, newest first: the `actor` and `resource` filters of the
 * audit lists and exports, and a compliance report's trail of one agent and its installations,
 * read these instead of walking the org's whole chain.
 */
export const AuditSubjectIndexes1732800000000 = sqlMigration(
  'AuditSubjectIndexes1732800000000',
  [
    `CREATE INDEX audit_events_actor_idx ON audit_events (org_id, actor_id, seq)`,
    `CREATE INDEX audit_events_resource_idx ON audit_events (org_id, resource_id, seq)`,
  ],
  [`DROP INDEX audit_events_resource_idx`, `DROP INDEX audit_events_actor_idx`],
);
