import type { Db } from '../../db/db';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import type { RequestBody } from '../../binding/handler-types';
import { digestSecret, newSecret } from '../../auth/credentials';
import { ORG_PERMISSIONS } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { assertCanGrant, assertOrgPermissions } from '../rbac';
import { keepingAnOwner } from '../rbac';

type ApiKey = components['schemas']['ApiKey'];
type ApiKeyWithSecret = components['schemas']['ApiKeyWithSecret'];
type CreateApiKey = RequestBody<'createApiKey'>;
interface ApiKeyRow {
  id: string;
  org_id: string;
  created_by: string | null;
  name: string;
  description: string;
  mode: 'live' | 'test';
  permissions: string[];
  prefix: string;
  last_four: string;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const DAY_MS = 86_400_000;
const MAX_LIFETIME_MS = 365 * DAY_MS;
const DEFAULT_LIFETIME_DAYS = 365;
/** The prefix shown in listings: `sk_live_` and four characters, enough to tell keys apart. */
const SHOWN_PREFIX_LENGTH = 12;

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

export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
  ) {}

  async create(principal: Principal, input: CreateApiKey): Promise<ApiKeyWithSecret> {
    const orgId = await this.orgs.scope(principal);
    const expiresAt = expiryOf(input, Date.now());
    const permissions = input.permissions ?? ORG_PERMISSIONS.filter((permission) => principal.permissions.has(permission));
    assertOrgPermissions(permissions);
    assertCanGrant(principal, permissions, 'an API key with these permissions');
    return this.db.transaction(async (manager) => {
      await this.orgs.reserveQuota(orgId, 'api_keys', async () => (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL AND expires_at > now()`, [orgId])).rows[0]!.n);
      return this.insert(manager, {
        orgId,
        // A key made with a key has the same creator, so it is bounded by the same user.
        createdBy: principal.userId,
        name: input.name,
        description: input.description ?? '',
        mode: input.mode ?? 'live',
        permissions,
        expiresAt,
      });
    });
  }

  /** Inserts a key and its first secret; the secret is returned here and never stored. */
  async insert(
    manager: EntityManager,
    key: { orgId: string; createdBy: string | null; name: string; description: string; mode: 'live' | 'test'; permissions: string[]; expiresAt: Date },
  ): Promise<ApiKeyWithSecret> {
    const secret = newSecret(`sk_${key.mode}`);
    const [row] = await manager.query(
      `INSERT INTO api_keys (id, org_id, created_by, name, description, mode, permissions, prefix, last_four, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [newId('key'), key.orgId, key.createdBy, key.name, key.description, key.mode, key.permissions, secret.slice(0, SHOWN_PREFIX_LENGTH), secret.slice(-4), key.expiresAt],
    );
    await manager.query(`INSERT INTO api_key_secrets (secret_digest, api_key_id) VALUES ($1, $2)`, [digestSecret(secret), row.id]);
    return { ...toApiKey(row), key: secret };
  }

  async list(principal: Principal, page: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows: ApiKeyRow[] = await this.db.untypedQuery(
      `SELECT * FROM api_keys WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, decodeCursor(page.cursor), page.limit + 1],
    );
    const result = pageOf(rows, page.limit);
    return { api_keys: result.items.map(toApiKey), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async revoke(principal: Principal, keyId: string): Promise<ApiKey> {
    const orgId = await this.orgs.scope(principal);
    return keepingAnOwner(this.db, orgId, `Revoking API key '${keyId}'`, async (manager) => {
      const [rows] = await manager.query(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND org_id = $2 RETURNING *`,
        [keyId, orgId],
      );
      if (!rows[0]) throw keyNotFound(keyId);
      return toApiKey(rows[0]);
    });
  }

  /**
   * A new secret; the secrets in use keep working until the grace period ends (at once for 0).
   * Rolling hands the caller a secret, so it needs every permission of the key, like creating one.
   */
  async roll(principal: Principal, keyId: string, gracePeriodSeconds: number): Promise<ApiKeyWithSecret> {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async (manager) => {
      const [key]: ApiKeyRow[] = await manager.query(`SELECT * FROM api_keys WHERE id = $1 AND org_id = $2 FOR UPDATE`, [keyId, orgId]);
      if (!key) throw keyNotFound(keyId);
      assertCanGrant(principal, key.permissions, `a secret of the API key '${key.name}'`);
      if (key.revoked_at) throw new ConflictError('A revoked API key cannot be rolled; create a new one.', 'API_KEY_REVOKED');
      if (key.expires_at.getTime() <= Date.now()) throw new ConflictError('An expired API key cannot be rolled; create a new one.', 'API_KEY_EXPIRED');
      await manager.query(
        `UPDATE api_key_secrets SET retires_at = LEAST(COALESCE(retires_at, 'infinity'), now() + make_interval(secs => $2))
         WHERE api_key_id = $1`,
        [keyId, gracePeriodSeconds],
      );
      const secret = newSecret(`sk_${key.mode}`);
      await manager.query(`INSERT INTO api_key_secrets (secret_digest, api_key_id) VALUES ($1, $2)`, [digestSecret(secret), keyId]);
      const [rows] = await manager.query(`UPDATE api_keys SET prefix = $2, last_four = $3 WHERE id = $1 RETURNING *`, [
        keyId,
        secret.slice(0, SHOWN_PREFIX_LENGTH),
        secret.slice(-4),
      ]);
      return { ...toApiKey(rows[0]), key: secret };
    });
  }
}
