import type { Db } from '../../db/db';
import type { PlanName } from '../../config/config';

/** Every SQL statement on `orgs`. */
export class OrgStore {
  constructor(private readonly db: Db) {}

  /** The org's own audit retention, locked for the update that follows; undefined when no such org. */
  async lockAuditRetention(orgId: string): Promise<{ audit_log_retention_days: number | null } | undefined> {
    const { rows } = await this.db.query<{ audit_log_retention_days: number | null }>(
      `SELECT audit_log_retention_days FROM orgs WHERE id = $1 FOR UPDATE`,
      [orgId],
    );
    return rows[0];
  }

  async setAuditRetention(orgId: string, days: number): Promise<void> {
    await this.db.query(`UPDATE orgs SET audit_log_retention_days = $2 WHERE id = $1`, [orgId, days]);
  }

  async auditRetentions(): Promise<Array<{ id: string; plan: PlanName; audit_log_retention_days: number | null }>> {
    const { rows } = await this.db.query<{ id: string; plan: PlanName; audit_log_retention_days: number | null }>(
      `SELECT id, plan, audit_log_retention_days FROM orgs`,
    );
    return rows;
  }
}
