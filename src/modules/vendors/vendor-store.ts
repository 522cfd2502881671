import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type AuthType = components['schemas']['VendorAuthType'];

export interface VendorRow {
  id: string;
  org_id: string;
  name: string;
  base_url: string;
  auth_type: AuthType;
  header_name: string | null;
  cost_header: string | null;
  api_key_last_four: string | null;
  credential_rotated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A live vendor with its credential's ciphertext, for the gateway. */
export interface VendorSecretRow extends VendorRow {
  api_key_ciphertext: string;
}

export type VendorSettings = Pick<VendorRow, 'name' | 'base_url' | 'auth_type' | 'header_name' | 'cost_header'>;

const COLUMNS = `id, org_id, name, base_url, auth_type, header_name, cost_header, api_key_last_four, credential_rotated_at,
  created_at, updated_at`;

/** Every SQL statement on `vendors`. A deleted vendor keeps its row (gateway keys name it) but none of its credential. */
export class VendorStore {
  constructor(private readonly db: Db) {}

  async insert(
    row: VendorSettings & { id: string; org_id: string; api_key_ciphertext: string; api_key_last_four: string | null },
  ): Promise<VendorRow> {
    const { rows } = await this.db.query<VendorRow>(
      `INSERT INTO vendors (id, org_id, name, base_url, auth_type, header_name, cost_header, api_key_ciphertext, api_key_last_four)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        row.id,
        row.org_id,
        row.name,
        row.base_url,
        row.auth_type,
        row.header_name,
        row.cost_header,
        row.api_key_ciphertext,
        row.api_key_last_four,
      ],
    );
    return rows[0]!;
  }

  async find(orgId: string, id: string): Promise<VendorRow | undefined> {
    const { rows } = await this.db.query<VendorRow>(`SELECT ${COLUMNS} FROM vendors WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, [
      orgId,
      id,
    ]);
    return rows[0];
  }

  /** The live vendor with its ciphertext, under a row lock when `lock` (a change reads what it overwrites). */
  async findWithSecret(orgId: string, id: string, lock = false): Promise<VendorSecretRow | undefined> {
    const { rows } = await this.db.query<VendorSecretRow>(
      `SELECT ${COLUMNS}, api_key_ciphertext FROM vendors WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
      [orgId, id],
    );
    return rows[0];
  }

  /** The gateway's read of a live vendor: its ciphertext, and the org's governance epoch in the same snapshot. */
  async findUpstream(orgId: string, id: string): Promise<(VendorSecretRow & { epoch: string }) | undefined> {
    const { rows } = await this.db.query<VendorSecretRow & { epoch: string }>(
      `SELECT ${COLUMNS}, api_key_ciphertext, COALESCE((SELECT g.epoch FROM governance_epochs g WHERE g.org_id = $1), 0) AS epoch
       FROM vendors WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
      [orgId, id],
      { prepared: true },
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<VendorRow[]> {
    const { rows } = await this.db.query<VendorRow>(
      `SELECT ${COLUMNS} FROM vendors WHERE org_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id < $2)
       ORDER BY id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }

  async update(orgId: string, id: string, settings: VendorSettings): Promise<VendorRow | undefined> {
    const { rows } = await this.db.query<VendorRow>(
      `UPDATE vendors SET name = $3, base_url = $4, auth_type = $5, header_name = $6, cost_header = $7, updated_at = now()
       WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [orgId, id, settings.name, settings.base_url, settings.auth_type, settings.header_name, settings.cost_header],
    );
    return rows[0];
  }

  async setCredential(orgId: string, id: string, ciphertext: string, lastFour: string | null): Promise<VendorRow | undefined> {
    const { rows } = await this.db.query<VendorRow>(
      `UPDATE vendors SET api_key_ciphertext = $3, api_key_last_four = $4, credential_rotated_at = now(), updated_at = now()
       WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [orgId, id, ciphertext, lastFour],
    );
    return rows[0];
  }

  /** Marks the vendor deleted and erases its credential; undefined when there was no live vendor. */
  async markDeleted(orgId: string, id: string): Promise<VendorRow | undefined> {
    const { rows } = await this.db.query<VendorRow>(
      `UPDATE vendors SET deleted_at = now(), updated_at = now(), api_key_ciphertext = NULL, api_key_last_four = NULL
       WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [orgId, id],
    );
    return rows[0];
  }
}
