import type { Db } from '../../db/db';
import { planNamed } from '../../auth/plans';
import { OrgStore } from './org-store';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import { assertQuota, type Quota } from '../../auth/plans';
import type { Principal } from '../../auth/principal';
import type { PlanName } from '../../config/config';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../../errors/api-error';
import { noteBefore } from '../../audit/audited-change';

type Org = components['schemas']['Org'];
interface OrgRow {
  id: string;
  name: string;
  plan: PlanName;
  created_at: Date;
}

export const toOrg = (row: OrgRow): Org => ({ id: row.id, name: row.name, plan: row.plan, created_at: row.created_at.toISOString() });


/** Orgs, and the rules every org-scoped operation shares: which org a caller may act on, and quotas. */
export class OrgService {
  private readonly store: OrgStore;

  constructor(
    private readonly db: Db,
    private readonly upgradeUrl: string,
  ) {
    this.store = new OrgStore(db);
  }

  async setAuditRetention(principal: Principal, requestedOrgId: string, days: number) {
    const orgId = await this.scope(principal, requestedOrgId);
    const old = await this.store.lockAuditRetention(orgId);
    if (!old) throw orgNotFound(orgId);
    noteBefore(old);
    await this.store.setAuditRetention(orgId, days);
    return { org_id: orgId, audit_log_retention_days: days };
  }

  /** Each org's audit retention in days: its own setting, else its plan's. */
  async auditRetentionDays(): Promise<Map<string, number>> {
    const orgs = await this.store.auditRetentions();
    return new Map(orgs.map((org) => [org.id, org.audit_log_retention_days ?? planNamed(org.plan).audit_log_retention_days]));
  }

  /**
   * The org a request acts on. A user or API key acts on its own org; naming another answers
   * 404, exactly as if it did not exist. A platform admin acts on the org it names.
   */
  async scope(principal: Principal, requestedOrgId?: string): Promise<string> {
    if (principal.kind === 'anonymous') throw new UnauthorizedError();
    if (principal.orgId !== null) {
      if (requestedOrgId !== undefined && requestedOrgId !== principal.orgId) throw orgNotFound(requestedOrgId);
      return principal.orgId;
    }
    if (requestedOrgId === undefined) {
      throw new ForbiddenError(
        'A platform admin session acts on the org a request names; this operation names none. Use an org credential.',
        'ORG_CREDENTIAL_REQUIRED',
      );
    }
    const [row] = await this.db.untypedQuery(`SELECT 1 FROM orgs WHERE id = $1`, [requestedOrgId]);
    if (!row) throw orgNotFound(requestedOrgId);
    return requestedOrgId;
  }

  async get(orgId: string): Promise<Org> {
    const [row] = await this.db.untypedQuery(`SELECT * FROM orgs WHERE id = $1`, [orgId]);
    if (!row) throw orgNotFound(orgId);
    return toOrg(row);
  }

  async list(principal: Principal, limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    const rows: OrgRow[] = await this.db.untypedQuery(
      `SELECT * FROM orgs WHERE ($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [principal.orgId, after, limit + 1],
    );
    const page = pageOf(rows, limit);
    return { orgs: page.items.map(toOrg), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async create(name: string, plan: PlanName, manager: EntityManager = this.db.manager): Promise<Org> {
    const [row] = await manager.query(`INSERT INTO orgs (id, name, plan) VALUES ($1, $2, $3) RETURNING *`, [newId('org'), name, plan]);
    return toOrg(row);
  }

  async setPlan(orgId: string, plan: PlanName): Promise<Org> {
    const [old] = await this.db.untypedQuery(`SELECT plan FROM orgs WHERE id = $1 FOR UPDATE`, [orgId]);
    if (old) noteBefore(old);
    const [rows] = await this.db.untypedQuery(`UPDATE orgs SET plan = $2 WHERE id = $1 RETURNING *`, [orgId, plan]);
    if (!rows?.[0]) throw orgNotFound(orgId);
    return toOrg(rows[0]);
  }

  /**
   * Inside a transaction: locks the org row, so concurrent creations count one at a time, and
   * answers 402 when one more object of this kind would exceed the plan's quota.
   */
  async reserveQuota(orgId: string, quota: Quota, countInUse: () => Promise<number>): Promise<void> {
    const [org] = await this.db.untypedQuery(`SELECT plan FROM orgs WHERE id = $1 FOR UPDATE`, [orgId]);
    if (!org) throw orgNotFound(orgId);
    assertQuota(org.plan, quota, await countInUse(), this.upgradeUrl);
  }
}

export function orgNotFound(orgId: string): NotFoundError {
  return new NotFoundError(`No org '${orgId}' exists, or it is not yours.`, 'ORG_NOT_FOUND');
}
