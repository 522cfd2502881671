import type { DataSource } from 'typeorm';
import type { components } from '../../../generated/api';
import { ORG_PERMISSIONS } from '../../auth/permissions';
import type { PlanName } from '../../config/config';
import type { ApiKeyService } from '../api-keys/api-key-service';
import type { OrgService } from './org-service';

const FIRST_KEY_LIFETIME_MS = 365 * 86_400_000;

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
}): Promise<{ org: components['schemas']['Org']; apiKey: components['schemas']['ApiKeyWithSecret'] } | null> {
  return options.dataSource.transaction(async (manager) => {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('warden.first_start'))`);
    const [{ exists }] = await manager.query(`SELECT EXISTS (SELECT 1 FROM orgs) AS exists`);
    if (exists) return null;
    const org = await options.orgs.create('Default org', options.plan, manager);
    const apiKey = await options.apiKeys.insert(manager, {
      orgId: org.id,
      createdBy: null,
      name: 'First-start owner key',
      description: 'Created at first start. Create your own keys and users with it, then revoke it.',
      mode: 'live',
      permissions: [...ORG_PERMISSIONS],
      expiresAt: new Date(Date.now() + FIRST_KEY_LIFETIME_MS),
    });
    return { org, apiKey };
  });
}
