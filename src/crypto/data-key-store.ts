import type { Db } from '../db/db';

export interface DataKeyRow {
  id: string;
  org_id: string;
  kek_id: string;
  wrapped: Buffer;
}

/** Every SQL statement on `data_keys`: each org's data key, wrapped by the key-encryption key. */
export class DataKeyStore {
  constructor(private readonly db: Db) {}

  async findForOrg(orgId: string): Promise<DataKeyRow | undefined> {
    const { rows } = await this.db.query<DataKeyRow>(`SELECT id, org_id, kek_id, wrapped FROM data_keys WHERE org_id = $1`, [orgId]);
    return rows[0];
  }

  async find(id: string, orgId: string): Promise<DataKeyRow | undefined> {
    const { rows } = await this.db.query<DataKeyRow>(
      `SELECT id, org_id, kek_id, wrapped FROM data_keys WHERE id = $1 AND org_id = $2`,
      [id, orgId],
      { prepared: true },
    );
    return rows[0];
  }

  /** False when the org got a data key first (a concurrent insert); the caller reads that one. */
  async insertIfAbsent(row: DataKeyRow): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO data_keys (id, org_id, kek_id, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO NOTHING RETURNING id`,
      [row.id, row.org_id, row.kek_id, row.wrapped],
    );
    return rows.length === 1;
  }
}
