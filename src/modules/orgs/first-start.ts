import type { DataSource, EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import { ORG_PERMISSIONS } from '../../auth/permissions';
import type { PlanName } from '../../config/config';
import type { ApiKeyService } from '../api-keys';
import type { AuditService } from '../audit';
import { redacted } from '../../audit/audited-change';
import type { OrgService } from './org-service';

type Org = components['schemas']['Org'];
type ApiKeyWithSecret = components['schemas']['ApiKeyWithSecret'];

const OWNER_KEY_LIFETIME_MS = 365 * 86_400_000;

/**
 * An owner key with no creating user: it is bounded by the owner role, and it counts as an owner
 * of the org until it is revoked or expires.
 */
function insertOwnerKey(manager: EntityManager, apiKeys: ApiKeyService, orgId: string, name: string, description: string): Promise<ApiKeyWithSecret> {
  return apiKeys.insert(manager, {
    orgId,
    createdBy: null,
    name,
    description,
    mode: 'live',
    permissions: [...ORG_PERMISSIONS],
    expiresAt: new Date(Date.now() + OWNER_KEY_LIFETIME_MS),
  });
}

/**
 * On a database with no org: creates the default org and an owner API key, and returns the key
 * so start-up can print it, once. Several instances starting together serialise on an advisory
 * lock, so exactly one of them creates (and prints) it.
 */
export async function ensureFirstOrg(options: {
  dataSource: DataSource;
  orgs: OrgService;
  apiKeys: ApiKeyService;
  plan: PlanName;
}): Promise<{ org: Org; apiKey: ApiKeyWithSecret } | null> {
  return options.dataSource.transaction(async (manager) => {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('warden.first_start'))`);
    const [{ exists }] = await manager.query(`SELECT EXISTS (SELECT 1 FROM orgs) AS exists`);
    if (exists) return null;
    const org = await options.orgs.create('Default org', options.plan, manager);
    const apiKey = await insertOwnerKey(
      manager,
      options.apiKeys,
      org.id,
      'First-start owner key',
      'Created at first start. Create an owner user with it, then revoke it.',
    );
    return { org, apiKey };
  });
}

export class OwnerKeyRefused extends Error {}

/**
 * The recovery path that needs database access instead of a key (`npm run admin --
 * create-owner-key`): a new owner key for the org named, or for the only org there is, recorded
 * in the org's audit log as the work of the local operator. No plan quota applies: it is how an
 * org that lost its owners gets one back.
 */
export async function createOwnerKey(options: {
  dataSource: DataSource;
  apiKeys: ApiKeyService;
  audit: AuditService;
  orgId?: string;
}): Promise<{ orgId: string; apiKey: ApiKeyWithSecret }> {
  return options.dataSource.transaction(async (manager) => {
    const orgs: Array<{ id: string }> = await manager.query(`SELECT id FROM orgs WHERE $1::text IS NULL OR id = $1 ORDER BY id LIMIT 2`, [
      options.orgId ?? null,
    ]);
    if (options.orgId !== undefined && orgs.length === 0) throw new OwnerKeyRefused(`no org '${options.orgId}' exists in this database.`);
    if (orgs.length === 0) throw new OwnerKeyRefused('this database has no org yet: start Warden once (npm start) and it creates one with an owner key.');
    if (orgs.length > 1) throw new OwnerKeyRefused('this database has several orgs: name one with --org org_….');
    const orgId = orgs[0]!.id;
    const apiKey = await insertOwnerKey(manager, options.apiKeys, orgId, 'Recovery owner key', 'Created with npm run admin -- create-owner-key.');
    await options.audit.append({
      orgId,
      actor: { type: 'system', id: 'npm run admin -- create-owner-key' },
      action: 'api_key.created',
      resourceType: 'api_key',
      resourceId: apiKey.id,
      outcome: 'success',
      details: { command: 'create-owner-key', after: redacted(apiKey) },
    });
    return { orgId, apiKey };
  });
}
