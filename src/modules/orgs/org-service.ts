import type { components } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import { assertQuota, planNamed, type Quota } from '../../auth/plans';
import type { Principal } from '../../auth/principal';
import type { PlanName } from '../../config/config';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../../errors/api-error';
import { type OrgRow, OrgStore } from './org-store';

type Org = components['schemas']['Org'];

const toOrg = (row: OrgRow): Org => ({ id: row.id, name: row.name, plan: row.plan, created_at: row.created_at.toISOString() });

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
    if (!(await this.store.exists(requestedOrgId))) throw orgNotFound(requestedOrgId);
    return requestedOrgId;
  }

  async get(orgId: string): Promise<Org> {
    const row = await this.store.findById(orgId);
    if (!row) throw orgNotFound(orgId);
    return toOrg(row);
  }

  async list(principal: Principal, limit: number, cursor?: string) {
    const rows = await this.store.list(principal.orgId, decodeCursor(cursor), limit + 1);
    const page = pageOf(rows, limit);
    return { orgs: page.items.map(toOrg), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async create(name: string, plan: PlanName): Promise<Org> {
    return toOrg(await this.store.insert(newId('org'), name, plan));
  }

  /**
   * On a database with no org: creates one, and whatever `equip` gives it, in one transaction;
   * null when an org exists. Instances starting together serialise on an advisory lock, so
   * exactly one of them creates it.
   */
  async createFirst<T>(name: string, plan: PlanName, equip: (org: Org) => Promise<T>): Promise<{ org: Org; equipment: T } | null> {
    return this.db.transaction(async () => {
      await this.store.lockFirstStart();
      if (await this.store.any()) return null;
      const org = await this.create(name, plan);
      return { org, equipment: await equip(org) };
    });
  }

  async setPlan(orgId: string, plan: PlanName): Promise<Org> {
    const old = await this.store.lockForUpdate(orgId);
    if (old) noteBefore(old);
    const row = await this.store.setPlan(orgId, plan);
    if (!row) throw orgNotFound(orgId);
    return toOrg(row);
  }

  /**
   * Inside a transaction: locks the org's row until it ends, so changes that count or guard
   * something of the org take turns; 404 when there is no such org.
   */
  async lock(orgId: string): Promise<PlanName> {
    const org = await this.store.lockForUpdate(orgId);
    if (!org) throw orgNotFound(orgId);
    return org.plan;
  }

  /**
   * Inside a transaction: locks the org row, so concurrent creations count one at a time, and
   * answers 402 when one more object of this kind would exceed the plan's quota.
   */
  async reserveQuota(orgId: string, quota: Quota, countInUse: () => Promise<number>): Promise<void> {
    assertQuota(await this.lock(orgId), quota, await countInUse(), this.upgradeUrl);
  }
}

export function orgNotFound(orgId: string): NotFoundError {
  return new NotFoundError(`No org '${orgId}' exists, or it is not yours.`, 'ORG_NOT_FOUND');
}
