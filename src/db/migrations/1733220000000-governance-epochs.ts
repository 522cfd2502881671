import { sqlMigration } from './sql-migration';

/** The tables whose changes alter how an agent's governed calls are decided, and the columns that matter. */
const WATCHED: Array<{ table: string; changed: string }> = [
  {
    table: 'agents',
    changed: `(OLD.status, OLD.disabled_until, OLD.daily_budget, OLD.policy_ids, OLD.workspace_id)
      IS DISTINCT FROM (NEW.status, NEW.disabled_until, NEW.daily_budget, NEW.policy_ids, NEW.workspace_id)`,
  },
  { table: 'workspaces', changed: 'OLD.policy_ids IS DISTINCT FROM NEW.policy_ids' },
  { table: 'policies', changed: '(OLD.current_version, OLD.deleted_at) IS DISTINCT FROM (NEW.current_version, NEW.deleted_at)' },
  { table: 'gateway_keys', changed: 'OLD.revoked_at IS DISTINCT FROM NEW.revoked_at' },
  { table: 'vendors', changed: 'OLD.* IS DISTINCT FROM NEW.*' },
];

/**
 * Each org's governance epoch: bumped in the very transaction that kills or revives an agent,
 * changes its budget or policies (its own or its workspace's), changes a policy, revokes a gateway
 * key, or changes or deletes a vendor. The gateway caches what rarely changes in process, tagged
 * with the epoch it was read under, and its one per-call statement (the budget reservation)
 * reserves only while the epoch is still that one: a change committed on any instance is seen by
 * the next call everywhere, however late a notification would arrive. The triggers are deferred
 * to commit, so the epoch row is locked only while the change commits (after every other lock the
 * change takes: no lock-order cycle). No foreign key: an org's deletion cascades into agents
 * whose triggers still bump it at commit.
 */
export const GovernanceEpochs1733220000000 = sqlMigration(
  'GovernanceEpochs1733220000000',
  [
    `CREATE TABLE governance_epochs (
      org_id text PRIMARY KEY,
      epoch bigint NOT NULL
    )`,
    `CREATE FUNCTION governance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      org text;
    BEGIN
      IF TG_OP = 'DELETE' THEN org := OLD.org_id; ELSE org := NEW.org_id; END IF;
      INSERT INTO governance_epochs AS e (org_id, epoch) VALUES (org, 1)
        ON CONFLICT (org_id) DO UPDATE SET epoch = e.epoch + 1;
      RETURN NULL;
    END $$`,
    ...WATCHED.flatMap(({ table, changed }) => [
      `CREATE CONSTRAINT TRIGGER ${table}_governance_update AFTER UPDATE ON ${table} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (${changed}) EXECUTE FUNCTION governance_changed()`,
      `CREATE CONSTRAINT TRIGGER ${table}_governance_delete AFTER DELETE ON ${table} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION governance_changed()`,
    ]),
  ],
  [
    ...WATCHED.flatMap(({ table }) => [
      `DROP TRIGGER ${table}_governance_delete ON ${table}`,
      `DROP TRIGGER ${table}_governance_update ON ${table}`,
    ]),
    `DROP FUNCTION governance_changed()`,
    `DROP TABLE governance_epochs`,
  ],
);
