import type { DataSource } from 'typeorm';
import type { components } from '../../../generated/api';
import { UNUSABLE_PASSWORD_HASH, verifyPassword } from '../../auth/credentials';
import type { LoginTokens } from '../../auth/login-tokens';
import type { Principal } from '../../auth/principal';
import { newId } from '../../db/ids';
import { ConflictError, UnauthorizedError } from '../../errors/api-error';
import type { OrgService } from '../orgs/org-service';
import { toUser, USER_COLUMNS, type UserRow } from '../users/user-service';

type PrincipalBody = components['schemas']['Principal'];

/** Password login, logout, and describing the caller. */
export class AuthService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly loginTokens: LoginTokens,
    private readonly orgs: OrgService,
  ) {}

  /** A wrong email costs the same scrypt work as a wrong password, and gets the same answer. */
  async login(email: string, password: string) {
    const [row]: Array<UserRow & { password_hash: string | null }> = await this.dataSource.query(
      `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)`,
      [email],
    );
    const matches = await verifyPassword(password, row?.password_hash ?? UNUSABLE_PASSWORD_HASH);
    if (!row || !matches) throw new UnauthorizedError('The email or password is wrong.', 'LOGIN_FAILED');
    const sessionId = newId('ses');
    // Whole seconds, so expires_at equals the token's exp claim.
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + this.loginTokens.ttlMinutes * 60_000);
    const user = await this.dataSource.transaction(async (manager) => {
      await manager.query(`INSERT INTO sessions (id, kind, user_id, expires_at) VALUES ($1, 'user', $2, $3)`, [sessionId, row.id, expiresAt]);
      const [[updated]] = await manager.query(`UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING ${USER_COLUMNS}`, [row.id]);
      return updated as UserRow;
    });
    return {
      token: await this.loginTokens.sign({ sub: row.id, sid: sessionId }, expiresAt),
      expires_at: expiresAt.toISOString(),
      user: toUser(user),
    };
  }

  async logout(principal: Principal): Promise<void> {
    if (!principal.sessionId) {
      throw new ConflictError('API keys have no session to log out of; revoke the key with DELETE /api/v1/api-keys/{id}.', 'NOT_A_SESSION');
    }
    await this.dataSource.query(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`, [principal.sessionId]);
  }

  async describe(principal: Principal): Promise<PrincipalBody> {
    const body: PrincipalBody = {
      type: principal.kind === 'anonymous' ? 'user' : principal.kind,
      roles: principal.roles,
      permissions: [...principal.permissions].sort(),
      expires_at: principal.expiresAt!.toISOString(),
    };
    if (principal.orgId) body.org = await this.orgs.get(principal.orgId);
    if (principal.userId) {
      const [user] = await this.dataSource.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [principal.userId]);
      if (user) body.user = toUser(user);
    }
    if (principal.apiKeyId) {
      const [key] = await this.dataSource.query(`SELECT id, name, mode, prefix, expires_at FROM api_keys WHERE id = $1`, [principal.apiKeyId]);
      body.api_key = { ...key, expires_at: key.expires_at.toISOString() };
    }
    if (principal.adminEmail) body.admin = { email: principal.adminEmail };
    return body;
  }
}
