import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { InstanceSecretStore } from './instance-secret-store';

/**
 * Keys Warden makes for itself (the JWT key when JWT_SECRET is unset, the PIN HMAC key), kept in
 * the database so every instance uses the same ones. The first instance to ask creates a key;
 * each is read once per process, on first use.
 */
export class InstanceSecrets {
  private readonly loaded = new Map<string, Promise<Buffer>>();

  private readonly store: InstanceSecretStore;

  constructor(dataSource: DataSource) {
    this.store = new InstanceSecretStore(dataSource);
  }

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
    await this.store.insertIfAbsent(name, randomBytes(48));
    return this.store.findValue(name);
  }
}
