import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

/**
 * Keys Warden makes for itself (the JWT key when JWT_SECRET is unset, the PIN HMAC key), kept in
 * the database so every instance uses the same ones. The first instance to ask creates a key;
 * each is read once per process, on first use.
 */
export class InstanceSecrets {
  private readonly loaded = new Map<string, Promise<Buffer>>();

  constructor(private readonly dataSource: DataSource) {}

  get(name: string): Promise<Buffer> {
    let secret = this.loaded.get(name);
    if (!secret) {
      secret = this.load(name);
      secret.catch(() => this.loaded.delete(name));
      this.loaded.set(name, secret);
    }
    return secret;
  }

  private async load(name: string): Promise<Buffer> {
    await this.dataSource.query(`INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      name,
      randomBytes(48),
    ]);
    const [{ value }] = await this.dataSource.query(`SELECT value FROM instance_secrets WHERE name = $1`, [name]);
    return value;
  }
}
