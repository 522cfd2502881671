import type { components } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import { hashPassword, UNUSABLE_PASSWORD_HASH } from '../../auth/credentials';
import { builtInRole } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { ApiKeyService } from '../api-keys';
import type { OrgService } from '../orgs';
import { assertCanGrantToPeople, assertCanTakeAway, type OwnerGuard } from '../rbac';
import { type ShownUserRow, UserStore } from './user-store';

type User = components['schemas']['User'];
type BuiltInRoleName = components['schemas']['BuiltInRoleName'];

const toUser = (row: ShownUserRow): User => ({
  id: row.id,
  org_id: row.org_id,
  email: row.email,
  role: row.role,
  email_verified: row.email_verified_at !== null,
  email_verified_at: row.email_verified_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  last_login_at: row.last_login_at?.toISOString() ?? null,
  first_name: row.first_name,
  last_name: row.last_name,
  created_by: row.created_by,
});

type UserNames = { first_name?: string; last_name?: string };
/** Who creates a user: the person behind a login or an API key they made; nobody for other callers. */
const creatorOf = (principal: Principal) => (principal.kind === 'user' || principal.kind === 'api_key' ? principal.userId : null);

export class UserService {
  private readonly store: UserStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope' | 'reserveQuota'>,
    private readonly owners: Pick<OwnerGuard, 'keepingAnOwner' | 'permissionsOf'>,
    private readonly apiKeys: Pick<ApiKeyService, 'revokeCreatedBy'>,
  ) {
    this.store = new UserStore(db);
  }

  async list(principal: Principal, query: { org_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal, query.org_id);
    const rows = await this.store.list(orgId, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { users: page.items.map(toUser), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** A user of the org, or 404 (a user of another org is reported the same way). */
  async get(orgId: string, userId: string): Promise<User> {
    const row = await this.store.findInOrg(orgId, userId);
    if (!row) throw new NotFoundError(`No user '${userId}' exists in this org.`, 'USER_NOT_FOUND');
    return toUser(row);
  }

  async find(userId: string): Promise<User | undefined> {
    const row = await this.store.findById(userId);
    return row && toUser(row);
  }

  /** The user with this email (any case) and their password hash, for a login to check. */
  async findLogin(email: string): Promise<{ user: User; passwordHash: string | null } | undefined> {
    const row = await this.store.findByEmail(email);
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  async create(
    principal: Principal,
    input: { org_id?: string; email: string; password: string; role?: BuiltInRoleName } & UserNames,
  ): Promise<User> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const role = input.role ?? 'member';
    assertCanGrantToPeople(principal, builtInRole(role)!.permissions, `the ${role} role`);
    const passwordHash = await hashPassword(input.password);
    return this.db.transaction(async () => {
      await this.orgs.reserveQuota(orgId, 'users', () => this.store.countInOrg(orgId));
      return this.insert(orgId, input.email, passwordHash, role, input, creatorOf(principal));
    });
  }

  /** A new user of the org; 409 `EMAIL_TAKEN` when any org has a user with the email. */
  async insert(
    orgId: string,
    email: string,
    passwordHash: string,
    role: BuiltInRoleName,
    names: UserNames = {},
    createdBy: string | null = null,
  ): Promise<User> {
    try {
      const row = await this.store.insert({
        id: newId('usr'),
        org_id: orgId,
        email,
        password_hash: passwordHash,
        role,
        first_name: names.first_name ?? null,
        last_name: names.last_name ?? null,
        created_by: createdBy,
      });
      return toUser(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`A user with the email ${email} already exists.`, 'EMAIL_TAKEN');
      throw error;
    }
  }

  /**
   * Deletes the user (sessions and role assignments go with them) and revokes the keys they
   * created, which the authenticator would refuse anyway once their creator is gone.
   */
  async delete(principal: Principal, userId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    await this.owners.keepingAnOwner(orgId, `Deleting user '${userId}'`, async () => {
      const user = await this.get(orgId, userId);
      assertCanTakeAway(principal, await this.owners.permissionsOf(user), `the user ${user.email}`);
      noteBefore(user);
      await this.apiKeys.revokeCreatedBy(userId);
      await this.store.delete(userId);
    });
  }

  /** The org's first owner user, whom `/me` reports for an API key no user created. */
  async findFirstOwner(orgId: string): Promise<User | undefined> {
    const row = await this.store.findFirstOwner(orgId);
    return row && toUser(row);
  }

  /** Who created the user (null: nobody in the org, or unknown); undefined when there is no such user. */
  async creatorOf(userId: string): Promise<string | null | undefined> {
    return (await this.store.findById(userId))?.created_by;
  }

  async isEmailVerified(userId: string): Promise<boolean> {
    return (await this.store.emailVerifiedAt(userId))!.email_verified_at !== null;
  }

  async markEmailVerified(userId: string): Promise<void> {
    await this.store.markEmailVerified(userId);
  }

  /**
   * Inside a transaction: the user single sign-on vouched for, created now (no usable password,
   * email verified) unless a user has the email already, within the org's user quota (402). The
   * org is locked before the email is looked up, so of two first sign-ins of one person exactly
   * one creates the user and the other finds them.
   */
  async provision(orgId: string, email: string, role: BuiltInRoleName, names: UserNames = {}): Promise<{ user: User; created: boolean }> {
    await this.orgs.reserveQuota(orgId, 'users', () => this.store.countInOrg(orgId));
    const existing = await this.store.findByEmail(email);
    if (existing) return { user: toUser(existing), created: false };
    const { id } = await this.insert(orgId, email, UNUSABLE_PASSWORD_HASH, role, names);
    await this.store.markEmailVerified(id);
    return { user: (await this.find(id))!, created: true };
  }

  /**
   * Sets the names an identity provider vouches for; a name it did not send is left as it is.
   * The names changed (before and after), none when they already matched.
   */
  async updateNames(userId: string, names: UserNames): Promise<{ before: UserNames; after: UserNames } | undefined> {
    const current = (await this.store.findById(userId))!;
    const before: UserNames = {};
    const after: UserNames = {};
    for (const field of ['first_name', 'last_name'] as const) {
      const value = names[field];
      if (value === undefined || value === current[field]) continue;
      before[field] = current[field] ?? undefined;
      after[field] = value;
    }
    if (Object.keys(after).length === 0) return undefined;
    await this.store.setNames(userId, {
      first_name: after.first_name ?? current.first_name,
      last_name: after.last_name ?? current.last_name,
    });
    return { before, after };
  }

  /** Stamps the user's last login; the user as it now is. */
  async recordLogin(userId: string): Promise<User> {
    return toUser((await this.store.markLoggedIn(userId))!);
  }
}
