import type { Db } from '../../db/db';

export interface ApiKeyDeviceRow {
  id: string;
  api_key_id: string;
  fingerprint: string;
  name: string;
  os: string;
  created_at: Date;
  last_seen_at: Date | null;
}

/** Every SQL statement on `api_key_devices` but authentication's probe, which rides in `ApiKeyStore.findCredential`. */
export class ApiKeyDeviceStore {
  constructor(private readonly db: Db) {}

  async list(keyId: string): Promise<ApiKeyDeviceRow[]> {
    const { rows } = await this.db.query<ApiKeyDeviceRow>(`SELECT * FROM api_key_devices WHERE api_key_id = $1 ORDER BY id`, [keyId]);
    return rows;
  }

  async findByFingerprint(keyId: string, fingerprint: string): Promise<ApiKeyDeviceRow | undefined> {
    const { rows } = await this.db.query<ApiKeyDeviceRow>(`SELECT * FROM api_key_devices WHERE api_key_id = $1 AND fingerprint = $2`, [
      keyId,
      fingerprint,
    ]);
    return rows[0];
  }

  async count(keyId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_key_devices WHERE api_key_id = $1`, [keyId]);
    return rows[0]!.n;
  }

  async insert(device: Pick<ApiKeyDeviceRow, 'id' | 'api_key_id' | 'fingerprint' | 'name' | 'os'>): Promise<ApiKeyDeviceRow> {
    const { rows } = await this.db.query<ApiKeyDeviceRow>(
      `INSERT INTO api_key_devices (id, api_key_id, fingerprint, name, os) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [device.id, device.api_key_id, device.fingerprint, device.name, device.os],
    );
    return rows[0]!;
  }

  /** The removed device; undefined when the key has no such device. */
  async delete(keyId: string, deviceId: string): Promise<ApiKeyDeviceRow | undefined> {
    const { rows } = await this.db.query<ApiKeyDeviceRow>(`DELETE FROM api_key_devices WHERE id = $1 AND api_key_id = $2 RETURNING *`, [
      deviceId,
      keyId,
    ]);
    return rows[0];
  }

  async markSeen(deviceId: string): Promise<void> {
    await this.db.query(`UPDATE api_key_devices SET last_seen_at = now() WHERE id = $1`, [deviceId]);
  }
}
