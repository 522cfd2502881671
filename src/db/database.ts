import { Client, type Pool } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { acquireMigrationLock, DatabaseStore, MIGRATIONS_TABLE } from './database-store';
import type { EmbeddedPostgres } from './embedded-postgres';
import { migrations as allMigrations } from './migrations';

export { MIGRATIONS_TABLE };

export type DatabaseTarget = (
  | { kind: 'server'; url: string; poolSize: number; schema?: string }
  | { kind: 'embedded'; dataDir: string | undefined }
) & {
  /**
   * Longest wait for a connection to a real server, new or from the pool (default 3 s): past it a
   * request fails fast instead of queueing on a dead database. The embedded database is waited for.
   */
  connectTimeoutMs?: number;
};

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface Database {
  readonly dataSource: DataSource;
  /** The connection URL; for the embedded database, its Unix socket in the data directory (or a private temporary one). */
  readonly url: string;
  readonly embedded: boolean;
  /**
   * Whether named prepared statements are safe: each pooled connection is a session of its own.
   * Not on PGlite (embedded, or reached through its socket as a server), whose one session outlives
   * its clients and misbehaves on a failed named statement.
   */
  readonly namedStatements: boolean;
  /** Names of the migrations this build knows that the database has not applied. */
  pendingMigrations(): Promise<string[]>;
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  migrations?: Array<new () => MigrationInterface>;
  /** Apply pending migrations before returning (start-up does; `/readyz` tests may not). */
  migrate?: boolean;
}

/**
 * Connects TypeORM over `pg` to a real Postgres, or to the embedded PGlite server when no URL
 * is configured, and applies pending migrations. `synchronize` is never used: the schema is
 * exactly what the migrations make.
 */
export async function openDatabase(target: DatabaseTarget, options: OpenDatabaseOptions = {}): Promise<Database> {
  const migrations = options.migrations ?? allMigrations;
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  let poolSize: number;
  let schema: string | undefined;
  if (target.kind === 'embedded') {
    // PGlite is loaded only when it is used: a start on DATABASE_URL never reads its half-megabyte module.
    const { startEmbeddedPostgres } = require('./embedded-postgres') as typeof import('./embedded-postgres');
    embedded = await startEmbeddedPostgres(target.dataDir);
    url = embedded.url;
    poolSize = 1;
  } else {
    ({ url, poolSize, schema } = target);
  }

  const dataSource = new DataSource({
    type: 'postgres',
    url,
    schema,
    poolSize,
    uuidExtension: 'pgcrypto',
    applicationName: 'warden',
    // pg's connectionTimeoutMillis: bounds both connecting and waiting for a pooled connection. The
    // embedded database runs in this process, so it cannot be away; requests queue for its one
    // session, and a bound there would turn a burst of them into 503s.
    connectTimeoutMS: embedded ? 0 : (target.connectTimeoutMs ?? 3_000),
    migrations,
    migrationsTableName: MIGRATIONS_TABLE,
    synchronize: false,
    logging: false,
    extra: schema ? { options: `-c search_path=${quoteIdentifier(schema)}` } : {},
  });
  const store = new DatabaseStore(dataSource);
  let namedStatements = false;
  const pendingMigrations = async () => {
    const applied = new Set(await store.appliedNames());
    return dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
  };
  try {
    await dataSource.initialize();
    // A connection lost while a caller holds it between statements (an outage) fails that caller's
    // next statement; pg would otherwise raise the loss itself as an uncaught exception and stop Warden.
    (dataSource.driver as unknown as { master?: Pool }).master?.on('connect', (client) => client.on('error', () => undefined));
    // A restart finds nothing to apply in one query, and then takes no lock and asks TypeORM nothing more.
    namedStatements = !embedded && !(await store.version()).includes('PGlite');
    if ((options.migrate ?? true) && (await pendingMigrations()).length > 0) {
      await withMigrationLock(embedded ? undefined : url, schema, () => dataSource.runMigrations({ transaction: 'each' }));
    }
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }

  const pool = (): Pool | undefined => (dataSource.driver as unknown as { master?: Pool }).master;
  return {
    dataSource,
    url,
    embedded: embedded !== undefined,
    namedStatements,
    pendingMigrations,
    async ping() {
      await store.ping();
    },
    poolStats() {
      const current = pool();
      return {
        total: current?.totalCount ?? 0,
        idle: current?.idleCount ?? 0,
        waiting: current?.waitingCount ?? 0,
        max: poolSize,
      };
    },
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

/**
 * Several instances starting at once must not apply the same migration twice, so a real server
 * serialises them with a session advisory lock held on a connection of its own. The embedded
 * database has one session and one instance, so it needs no lock.
 */
async function withMigrationLock<T>(url: string | undefined, schema: string | undefined, work: () => Promise<T>): Promise<T> {
  if (url === undefined) return work();
  const lockClient = new Client({ connectionString: url, application_name: 'warden-migrations' });
  await lockClient.connect();
  try {
    await acquireMigrationLock(lockClient, schema ?? 'public');
    return await work();
  } finally {
    await lockClient.end();
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
