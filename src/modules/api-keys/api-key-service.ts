import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import { type ApiKeyCredential, type ApiKeyCredentials, deviceNotBound } from '../../auth/authenticator';
import { digestSecret, newSecret } from '../../auth/credentials';
import { ORG_PERMISSIONS } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { assertCanGrant, assertCanTakeAway, assertOrgPermissions, type OwnerGuard } from '../rbac';
import { type ApiKeyDeviceRow, ApiKeyDeviceStore } from './api-key-device-store';
import { type ApiKeyRow, ApiKeyStore } from './api-key-store';

type ApiKey = components['schemas']['ApiKey'];
type ApiKeyWithSecret = components['schemas']['ApiKeyWithSecret'];
type ApiKeySummary = NonNullable<components['schemas']['Principal']['api_key']>;
type CreateApiKey = operations['createApiKey']['requestBody']['content']['application/json'];
type UpdateApiKey = operations['updateApiKey']['requestBody']['content']['application/json'];
type ApiKeyDevice = components['schemas']['ApiKeyDevice'];
type BindDevice = operations['bindApiKeyDevice']['requestBody']['content']['application/json'];

const DAY_MS = 86_400_000;
const MAX_LIFETIME_MS = 365 * DAY_MS;
const DEFAULT_LIFETIME_DAYS = 365;
/** The prefix shown in listings: `sk_live_` and four characters, enough to tell keys apart. */
const SHOWN_PREFIX_LENGTH = 12;
/** Devices one key may be bound to: a person's machines, not a fleet (a fleet wants a key per machine). */
const MAX_DEVICES_PER_KEY = 10;

const toApiKey = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  description: row.description,
  mode: row.mode,
  prefix: row.prefix,
  last_four: row.last_four,
  permissions: row.permissions,
  created_at: row.created_at.toISOString(),
  expires_at: row.expires_at.toISOString(),
  last_used_at: row.last_used_at?.toISOString() ?? null,
  revoked_at: row.revoked_at?.toISOString() ?? null,
  created_by: row.created_by,
  rate_limit_per_minute: row.rate_limit_per_minute,
});

const toDevice = (row: ApiKeyDeviceRow): ApiKeyDevice => ({
  id: row.id,
  api_key_id: row.api_key_id,
  fingerprint: row.fingerprint,
  name: row.name,
  os: row.os,
  created_at: row.created_at.toISOString(),
  last_seen_at: row.last_seen_at?.toISOString() ?? null,
});

const keyNotFound = (id: string) => new NotFoundError(`No API key '${id}' exists in this org.`, 'API_KEY_NOT_FOUND');

function expiryOf(input: Pick<CreateApiKey, 'expires_in_days' | 'expires_at'>, now: number): Date {
  if (input.expires_in_days !== undefined && input.expires_at !== undefined) {
    throw new ValidationError('Give expires_in_days or expires_at, not both.', 'EXPIRY_AMBIGUOUS', [
      { location: 'body', field: 'expires_at', message: 'conflicts with expires_in_days', rule: 'oneOf' },
    ]);
  }
  if (input.expires_at === undefined) return new Date(now + (input.expires_in_days ?? DEFAULT_LIFETIME_DAYS) * DAY_MS);
  const expiresAt = new Date(input.expires_at);
  if (expiresAt.getTime() <= now || expiresAt.getTime() > now + MAX_LIFETIME_MS) {
    throw new ValidationError('expires_at must be in the future and at most one year ahead.', 'EXPIRY_OUT_OF_RANGE', [
      { location: 'body', field: 'expires_at', message: 'must be within the next 365 days', rule: 'range' },
    ]);
  }
  return expiresAt;
}

/** API keys; also the authenticator's way to them (`ApiKeyCredentials`). */
export class ApiKeyService implements ApiKeyCredentials {
  private readonly store: ApiKeyStore;
  private readonly devices: ApiKeyDeviceStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope' | 'reserveQuota'>,
    private readonly owners: Pick<OwnerGuard, 'keepingAnOwner'>,
  ) {
    this.store = new ApiKeyStore(db);
    this.devices = new ApiKeyDeviceStore(db);
  }

  async create(principal: Principal, input: CreateApiKey): Promise<ApiKeyWithSecret> {
    const orgId = await this.orgs.scope(principal);
    const expiresAt = expiryOf(input, Date.now());
    const permissions = input.permissions ?? ORG_PERMISSIONS.filter((permission) => principal.permissions.has(permission));
    assertOrgPermissions(permissions);
    assertCanGrant(principal, permissions, 'an API key with these permissions');
    return this.db.transaction(async () => {
      await this.orgs.reserveQuota(orgId, 'api_keys', () => this.store.countLive(orgId));
      return this.insert({
        orgId,
        // A key made with a key has the same creator, so it is bounded by the same user.
        createdBy: principal.userId,
        name: input.name,
        description: input.description ?? '',
        mode: input.mode ?? 'live',
        permissions,
        expiresAt,
        rateLimitPerMinute: input.rate_limit_per_minute ?? null,
      });
    });
  }

  /** Inserts a key and its first secret (call it inside a transaction); the secret is returned here and never stored. */
  async insert(key: {
    orgId: string;
    createdBy: string | null;
    name: string;
    description: string;
    mode: 'live' | 'test';
    permissions: string[];
    expiresAt: Date;
    /** The key's own budget of requests per minute; null or absent for the configured default. */
    rateLimitPerMinute?: number | null;
  }): Promise<ApiKeyWithSecret> {
    const secret = newSecret(`sk_${key.mode}`);
    const row = await this.store.insert({
      id: newId('key'),
      org_id: key.orgId,
      created_by: key.createdBy,
      name: key.name,
      description: key.description,
      mode: key.mode,
      permissions: key.permissions,
      prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
      last_four: secret.slice(-4),
      expires_at: key.expiresAt,
      rate_limit_per_minute: key.rateLimitPerMinute ?? null,
    });
    await this.store.insertSecret({ secret_digest: digestSecret(secret), api_key_id: row.id });
    return { ...toApiKey(row), key: secret };
  }

  async list(principal: Principal, page: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, decodeCursor(page.cursor), page.limit + 1);
    const result = pageOf(rows, page.limit);
    return { api_keys: result.items.map(toApiKey), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  /** The key as the caller's principal describes it. */
  async summary(keyId: string): Promise<ApiKeySummary> {
    const key = (await this.store.findSummary(keyId))!;
    return { ...key, expires_at: key.expires_at.toISOString() };
  }

  async revoke(principal: Principal, keyId: string): Promise<ApiKey> {
    const orgId = await this.orgs.scope(principal);
    return this.owners.keepingAnOwner(orgId, `Revoking API key '${keyId}'`, async () => {
      await this.lockAsStrongAs(principal, orgId, keyId);
      const row = await this.store.revoke(orgId, keyId);
      if (!row) throw keyNotFound(keyId);
      noteBefore({ revoked_at: row.revoked_before?.toISOString() ?? null });
      return toApiKey(row);
    });
  }

  /**
   * Seed 003's "edit the key and add the missing permission". The new list must lie within the
   * caller's own permissions, kept ones included, so editing never hands a key more than the
   * editor has; taking owner.grant from the last owner credential is refused like a revocation.
   */
  async update(principal: Principal, keyId: string, input: UpdateApiKey): Promise<ApiKey> {
    const orgId = await this.orgs.scope(principal);
    const { permissions } = input;
    if (permissions) {
      assertOrgPermissions(permissions);
      assertCanGrant(principal, permissions, `the API key '${keyId}' with these permissions`);
    }
    const change = async () => {
      const key = await this.lockAsStrongAs(principal, orgId, keyId);
      const { name, description, rate_limit_per_minute } = key;
      noteBefore({ name, description, permissions: key.permissions, rate_limit_per_minute });
      return toApiKey(await this.store.update(keyId, input));
    };
    return permissions
      ? this.owners.keepingAnOwner(orgId, `Changing the permissions of API key '${keyId}'`, change)
      : this.db.transaction(change);
  }

  /** Revokes every key the user created; call it inside the transaction that deletes the user. */
  async revokeCreatedBy(userId: string): Promise<void> {
    await this.store.revokeCreatedBy(userId);
  }

  /**
   * A new secret; the secrets in use keep working until the grace period ends (at once for 0).
   * Rolling hands the caller a secret, so it needs every permission of the key, like creating one.
   */
  async roll(principal: Principal, keyId: string, gracePeriodSeconds: number): Promise<ApiKeyWithSecret> {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async () => {
      const key = await this.store.lockForUpdate(orgId, keyId);
      if (!key) throw keyNotFound(keyId);
      assertCanGrant(principal, key.permissions, `a secret of the API key '${key.name}'`);
      if (key.revoked_at) throw new ConflictError('A revoked API key cannot be rolled; create a new one.', 'API_KEY_REVOKED');
      if (key.expires_at.getTime() <= Date.now()) {
        throw new ConflictError('An expired API key cannot be rolled; create a new one.', 'API_KEY_EXPIRED');
      }
      await this.store.retireSecrets(keyId, gracePeriodSeconds);
      const secret = newSecret(`sk_${key.mode}`);
      await this.store.insertSecret({ secret_digest: digestSecret(secret), api_key_id: keyId });
      const row = await this.store.setShownSecret(keyId, secret.slice(0, SHOWN_PREFIX_LENGTH), secret.slice(-4));
      return { ...toApiKey(row), key: secret };
    });
  }

  /**
   * Binds the key to a device, or answers the device it already has with that fingerprint
   * (`created: false`). The key's row is locked, so concurrent binds cannot pass the cap together.
   */
  async bindDevice(principal: Principal, keyId: string, input: BindDevice): Promise<{ created: boolean; device: ApiKeyDevice }> {
    const orgId = await this.orgs.scope(principal);
    this.assertMayManageDevices(principal, keyId, 'api_key.edit');
    // An unbound device reaches this operation only to bind itself to the key it uses.
    if (principal.device?.required && principal.device.id === null && principal.apiKeyId !== keyId) throw deviceNotBound();
    return this.db.transaction(async () => {
      await this.lockAsStrongAs(principal, orgId, keyId);
      const fingerprint = input.fingerprint.toLowerCase();
      const existing = await this.devices.findByFingerprint(keyId, fingerprint);
      if (existing) return { created: false, device: toDevice(existing) };
      if ((await this.devices.count(keyId)) >= MAX_DEVICES_PER_KEY) {
        throw new ConflictError(
          `The API key is already bound to ${MAX_DEVICES_PER_KEY} devices; remove one first.`,
          'API_KEY_DEVICE_LIMIT_REACHED',
        );
      }
      const row = await this.devices.insert({ id: newId('dev'), api_key_id: keyId, fingerprint, name: input.name, os: input.os });
      return { created: true, device: toDevice(row) };
    });
  }

  async listDevices(principal: Principal, keyId: string): Promise<{ devices: ApiKeyDevice[] }> {
    const orgId = await this.orgs.scope(principal);
    this.assertMayManageDevices(principal, keyId, 'api_key.read', 'api_key.edit');
    if (!(await this.store.findSummaryInOrg(orgId, keyId))) throw keyNotFound(keyId);
    return { devices: (await this.devices.list(keyId)).map(toDevice) };
  }

  async unbindDevice(principal: Principal, keyId: string, deviceId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    this.assertMayManageDevices(principal, keyId, 'api_key.edit');
    await this.lockAsStrongAs(principal, orgId, keyId);
    const removed = await this.devices.delete(keyId, deviceId);
    if (!removed) throw new NotFoundError(`The API key '${keyId}' has no device '${deviceId}'.`, 'API_KEY_DEVICE_NOT_FOUND');
    noteBefore(toDevice(removed));
  }

  /**
   * Locks the key for a change made by `principal`. Changing another key (narrowing, rate-limiting,
   * binding or unbinding its devices, revoking it) takes from its holder, so like deleting a user it
   * needs every permission the key holds; a key acting on itself (`warden login`, self-revoke) may.
   */
  private async lockAsStrongAs(principal: Principal, orgId: string, keyId: string): Promise<ApiKeyRow> {
    const key = await this.store.lockForUpdate(orgId, keyId);
    if (!key) throw keyNotFound(keyId);
    if (principal.apiKeyId !== keyId) assertCanTakeAway(principal, key.permissions, `from the API key '${key.name}'`);
    return key;
  }

  /** A key manages its own devices; anyone else needs one of the permissions. */
  private assertMayManageDevices(principal: Principal, keyId: string, ...permissions: string[]): void {
    if (principal.apiKeyId === keyId || permissions.some((permission) => principal.permissions.has(permission))) return;
    throw new ForbiddenError(
      `This operation needs the '${permissions.join("' or '")}' permission, or the API key itself.`,
      'PERMISSION_DENIED',
    );
  }

  findCredential(secretDigest: Buffer, deviceFingerprint: string | null): Promise<ApiKeyCredential | undefined> {
    return this.store.findCredential(secretDigest, deviceFingerprint);
  }

  markUsed(keyId: string): Promise<void> {
    return this.store.markUsed(keyId);
  }

  markDeviceSeen(deviceId: string): Promise<void> {
    return this.devices.markSeen(deviceId);
  }
}
