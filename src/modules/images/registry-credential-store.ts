import type { Db } from '../../db/db';

export interface RegistryCredentialRow {
  id: string;
  org_id: string;
  registry: string;
  kind: 'basic' | 'token';
  username: string | null;
  secret_last_four: string | null;
  created_at: Date;
}

/** A credential with its sealed secret, for the calls Warden makes with it. */
export interface RegistryCredentialSecretRow extends RegistryCredentialRow {
  secret_ciphertext: string;
}

const COLUMNS = 'id, org_id, registry, kind, username, secret_last_four, created_at';

/** Every SQL statement on `image_registry_credentials`. */
export class RegistryCredentialStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<RegistryCredentialSecretRow, 'created_at'>): Promise<RegistryCredentialRow> {
    const { rows } = await this.db.query<RegistryCredentialRow>(
      `INSERT INTO image_registry_credentials (id, org_id, registry, kind, username, secret_ciphertext, secret_last_four)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [row.id, row.org_id, row.registry, row.kind, row.username, row.secret_ciphertext, row.secret_last_four],
    );
    return rows[0]!;
  }

  async find(orgId: string, id: string, lock = false): Promise<RegistryCredentialRow | undefined> {
    const { rows } = await this.db.query<RegistryCredentialRow>(
      `SELECT ${COLUMNS} FROM image_registry_credentials WHERE org_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [orgId, id],
    );
    return rows[0];
  }

  async forRegistry(orgId: string, registry: string): Promise<RegistryCredentialSecretRow | undefined> {
    const { rows } = await this.db.query<RegistryCredentialSecretRow>(
      `SELECT ${COLUMNS}, secret_ciphertext FROM image_registry_credentials WHERE org_id = $1 AND registry = $2`,
      [orgId, registry],
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<RegistryCredentialRow[]> {
    const { rows } = await this.db.query<RegistryCredentialRow>(
      `SELECT ${COLUMNS} FROM image_registry_credentials WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const { affected } = await this.db.query(`DELETE FROM image_registry_credentials WHERE org_id = $1 AND id = $2`, [orgId, id]);
    return affected > 0;
  }
}
