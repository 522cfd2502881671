import type { DataSource } from 'typeorm';

export interface InstanceSecretRow {
  name: string;
  value: Buffer;
}

/** The `instance_secrets` table, read on the pool: a secret is loaded once per process, outside any request. */
export class InstanceSecretStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores `value` under `name` unless another instance stored one first. */
  async insertIfAbsent(name: string, value: Buffer): Promise<void> {
    await this.dataSource.query(`INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, value]);
  }

  async findValue(name: string): Promise<Buffer> {
    const [row]: Array<Pick<InstanceSecretRow, 'value'>> = await this.dataSource.query(
      `SELECT value FROM instance_secrets WHERE name = $1`,
      [name],
    );
    return row!.value;
  }
}
