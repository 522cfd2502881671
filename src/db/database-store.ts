import type { Client } from 'pg';
import type { DataSource } from 'typeorm';

export const MIGRATIONS_TABLE = 'warden_migrations';
/** Arbitrary constant naming Warden's migration lock among the server's advisory locks. */
const MIGRATION_LOCK_KEY = 7_302_716_341;

/** A row of the table TypeORM keeps its migration bookkeeping in. */
export interface MigrationRow {
  id: number;
  timestamp: string;
  name: string;
}

/** Reads TypeORM's bookkeeping on the pool; the table is TypeORM's to write. */
export class DatabaseStore {
  constructor(private readonly dataSource: DataSource) {}

  /** The server's version string (PGlite names itself there). */
  async version(): Promise<string> {
    const [row]: Array<{ version: string }> = await this.dataSource.query('SELECT version() AS version');
    return row!.version;
  }

  /** Readiness: the database answers. */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  /** Names of the applied migrations; none when the table is not there yet (a database no instance has migrated). */
  async appliedNames(): Promise<string[]> {
    const [table]: Array<{ exists: boolean }> = await this.dataSource.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
      MIGRATIONS_TABLE,
    ]);
    if (!table!.exists) return [];
    const rows: Array<Pick<MigrationRow, 'name'>> = await this.dataSource.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    return rows.map((row) => row.name);
  }
}

/** Waits for the session advisory lock serialising the migrations of one schema; it lasts as long as `client`'s session. */
export async function acquireMigrationLock(client: Client, schema: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MIGRATION_LOCK_KEY % 2 ** 31, schema]);
}
