import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type BuiltInRoleName = components['schemas']['BuiltInRoleName'];

export interface UserRow {
  id: string;
  org_id: string;
  email: string;
  password_hash: string | null;
  role: BuiltInRoleName;
  email_verified_at: Date | null;
  created_at: Date;
  last_login_at: Date | null;
  first_name: string | null;
  last_name: string | null;
  /** The user who created this one through the API; null when nobody in the org did. */
  created_by: string | null;
}

/** A user as the API shows it: every column but the password hash. */
export type ShownUserRow = Omit<UserRow, 'password_hash'>;

const SHOWN_COLUMNS = 'id, org_id, email, role, email_verified_at, created_at, last_login_at, first_name, last_name, created_by';

/** Every SQL statement on `users`. */
export class UserStore {
  constructor(private readonly db: Db) {}

  async list(orgId: string, after: string | null, limit: number): Promise<ShownUserRow[]> {
    const { rows } = await this.db.query<ShownUserRow>(
      `SELECT ${SHOWN_COLUMNS} FROM users WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, after, limit],
    );
    return rows;
  }

  async findInOrg(orgId: string, userId: string): Promise<ShownUserRow | undefined> {
    const { rows } = await this.db.query<ShownUserRow>(`SELECT ${SHOWN_COLUMNS} FROM users WHERE id = $1 AND org_id = $2`, [userId, orgId]);
    return rows[0];
  }

  async findById(userId: string): Promise<ShownUserRow | undefined> {
    const { rows } = await this.db.query<ShownUserRow>(`SELECT ${SHOWN_COLUMNS} FROM users WHERE id = $1`, [userId]);
    return rows[0];
  }

  /** Emails compare case-insensitively, as the unique index does. */
  async findByEmail(email: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.query<UserRow>(`SELECT ${SHOWN_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)`, [
      email,
    ]);
    return rows[0];
  }

  /** The org's first owner user (the oldest), if it has one. */
  async findFirstOwner(orgId: string): Promise<ShownUserRow | undefined> {
    const { rows } = await this.db.query<ShownUserRow>(
      `SELECT ${SHOWN_COLUMNS} FROM users WHERE org_id = $1 AND role = 'owner' ORDER BY id LIMIT 1`,
      [orgId],
    );
    return rows[0];
  }

  async countInOrg(orgId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE org_id = $1`, [orgId]);
    return rows[0]!.n;
  }

  async insert(
    user: Pick<UserRow, 'id' | 'org_id' | 'email' | 'password_hash' | 'role' | 'first_name' | 'last_name' | 'created_by'>,
  ): Promise<ShownUserRow> {
    const { rows } = await this.db.query<ShownUserRow>(
      `INSERT INTO users (id, org_id, email, password_hash, role, first_name, last_name, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${SHOWN_COLUMNS}`,
      [user.id, user.org_id, user.email, user.password_hash, user.role, user.first_name, user.last_name, user.created_by],
    );
    return rows[0]!;
  }

  /** Sessions and role assignments go with the user (ON DELETE CASCADE). */
  async delete(userId: string): Promise<void> {
    await this.db.query(`DELETE FROM users WHERE id = $1`, [userId]);
  }

  async emailVerifiedAt(userId: string): Promise<{ email_verified_at: Date | null } | undefined> {
    const { rows } = await this.db.query<{ email_verified_at: Date | null }>(`SELECT email_verified_at FROM users WHERE id = $1`, [userId]);
    return rows[0];
  }

  async markEmailVerified(userId: string): Promise<void> {
    await this.db.query(`UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()) WHERE id = $1`, [userId]);
  }

  async setNames(userId: string, names: Pick<UserRow, 'first_name' | 'last_name'>): Promise<void> {
    await this.db.query(`UPDATE users SET first_name = $2, last_name = $3 WHERE id = $1`, [userId, names.first_name, names.last_name]);
  }

  async markLoggedIn(userId: string): Promise<ShownUserRow | undefined> {
    const { rows } = await this.db.query<ShownUserRow>(`UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING ${SHOWN_COLUMNS}`, [
      userId,
    ]);
    return rows[0];
  }
}
