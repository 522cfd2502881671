import type { PlanName } from '../../config/config';
import type { Db } from '../../db/db';

export interface OrgRow {
  id: string;
  name: string;
  plan: PlanName;
  audit_log_retention_days: number | null;
  created_at: Date;
}

/** Every SQL statement on `orgs`. */
export class OrgStore {
  constructor(private readonly db: Db) {}

  async exists(orgId: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM orgs WHERE id = $1`, [orgId]);
    return rows.length > 0;
  }

  async findById(orgId: string): Promise<OrgRow | undefined> {
    const { rows } = await this.db.query<OrgRow>(`SELECT * FROM orgs WHERE id = $1`, [orgId]);
    return rows[0];
  }

  /** A page of orgs, newest id first: only `onlyOrgId` when given. */
  async list(onlyOrgId: string | null, after: string | null, limit: number): Promise<OrgRow[]> {
    const { rows } = await this.db.query<OrgRow>(
      `SELECT * FROM orgs WHERE ($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [onlyOrgId, after, limit],
    );
    return rows;
  }

  async insert(id: string, name: string, plan: PlanName): Promise<OrgRow> {
    const { rows } = await this.db.query<OrgRow>(`INSERT INTO orgs (id, name, plan) VALUES ($1, $2, $3) RETURNING *`, [id, name, plan]);
    return rows[0]!;
  }

  /** Locks the org's row until the transaction ends; its plan, or undefined when no such org. */
  async lockForUpdate(orgId: string): Promise<{ plan: PlanName } | undefined> {
    const { rows } = await this.db.query<{ plan: PlanName }>(`SELECT plan FROM orgs WHERE id = $1 FOR UPDATE`, [orgId]);
    return rows[0];
  }

  async setPlan(orgId: string, plan: PlanName): Promise<OrgRow | undefined> {
    const { rows } = await this.db.query<OrgRow>(`UPDATE orgs SET plan = $2 WHERE id = $1 RETURNING *`, [orgId, plan]);
    return rows[0];
  }

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

  async auditRetentions(): Promise<Array<Pick<OrgRow, 'id' | 'plan' | 'audit_log_retention_days'>>> {
    const { rows } = await this.db.query<Pick<OrgRow, 'id' | 'plan' | 'audit_log_retention_days'>>(
      `SELECT id, plan, audit_log_retention_days FROM orgs`,
    );
    return rows;
  }

  /** Serialises first starts until the transaction ends, so exactly one instance creates the first org. */
  async lockFirstStart(): Promise<void> {
    await this.db.query(`SELECT pg_advisory_xact_lock(hashtext('warden.first_start'))`);
  }

  async any(): Promise<boolean> {
    const { rows } = await this.db.query<{ exists: boolean }>(`SELECT EXISTS (SELECT 1 FROM orgs) AS exists`);
    return rows[0]!.exists;
  }

  /** Up to two org ids: `orgId`'s if it exists, else any two; enough to tell none, one and several apart. */
  async idsUpToTwo(orgId: string | null): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM orgs WHERE $1::text IS NULL OR id = $1 ORDER BY id LIMIT 2`, [
      orgId,
    ]);
    return rows.map((row) => row.id);
  }
}
