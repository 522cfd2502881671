import type { components } from '../../../generated/api';
import { redacted } from '../../audit/audited-change';
import { ORG_PERMISSIONS } from '../../auth/permissions';
import type { PlanName } from '../../config/config';
import type { Db } from '../../db/db';
import type { ApiKeyService } from '../api-keys';
import type { AuditService } from '../audit';
import type { OrgService } from './org-service';
import { OrgStore } from './org-store';

type Org = components['schemas']['Org'];
type ApiKeyWithSecret = components['schemas']['ApiKeyWithSecret'];

const OWNER_KEY_LIFETIME_MS = 365 * 86_400_000;

/**
 * An owner key with no creating user: it is bounded by the owner role, and it counts as an owner
 * of the org until it is revoked or expires.
 */
function insertOwnerKey(
  apiKeys: Pick<ApiKeyService, 'insert'>,
  orgId: string,
  name: string,
  description: string,
): Promise<ApiKeyWithSecret> {
  return apiKeys.insert({
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
 * so start-up can print it, once.
 */
export async function ensureFirstOrg(options: {
  orgs: Pick<OrgService, 'createFirst'>;
  apiKeys: Pick<ApiKeyService, 'insert'>;
  audit: Pick<AuditService, 'append'>;
  plan: PlanName;
}): Promise<{ org: Org; apiKey: ApiKeyWithSecret } | null> {
  const first = await options.orgs.createFirst('Default org', options.plan, async (org) => {
    const apiKey = await insertOwnerKey(
      options.apiKeys,
      org.id,
      'First-start owner key',
      'Created at first start. Create an owner user with it, then revoke it.',
    );
    // The org's chain starts with its own making, in the same transaction.
    const actor = { type: 'system' as const, id: 'first start' };
    await options.audit.append({
      orgId: org.id,
      actor,
      action: 'org.created',
      resourceId: org.id,
      outcome: 'success',
      details: { after: org },
    });
    await options.audit.append({
      orgId: org.id,
      actor,
      action: 'api_key.created',
      resourceType: 'api_key',
      resourceId: apiKey.id,
      outcome: 'success',
      details: { after: redacted(apiKey) },
    });
    return apiKey;
  });
  return first && { org: first.org, apiKey: first.equipment };
}

export class OwnerKeyRefused extends Error {}

/**
 * The recovery path that needs database access instead of a key (`npm run admin --
 * create-owner-key`): a new owner key for the org named, or for the only org there is, recorded
 * in the org's audit log as the work of the local operator. No plan quota applies: it is how an
 * org that lost its owners gets one back.
 */
export async function createOwnerKey(options: {
  db: Db;
  apiKeys: Pick<ApiKeyService, 'insert'>;
  audit: Pick<AuditService, 'append'>;
  orgId?: string;
}): Promise<{ orgId: string; apiKey: ApiKeyWithSecret }> {
  const orgs = new OrgStore(options.db);
  return options.db.transaction(async () => {
    const orgIds = await orgs.idsUpToTwo(options.orgId ?? null);
    if (options.orgId !== undefined && orgIds.length === 0) throw new OwnerKeyRefused(`no org '${options.orgId}' exists in this database.`);
    if (orgIds.length === 0) {
      throw new OwnerKeyRefused('this database has no org yet: start Warden once (npm start) and it creates one with an owner key.');
    }
    if (orgIds.length > 1) throw new OwnerKeyRefused('this database has several orgs: name one with --org org_….');
    const orgId = orgIds[0]!;
    const apiKey = await insertOwnerKey(options.apiKeys, orgId, 'Recovery owner key', 'Created with npm run admin -- create-owner-key.');
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
