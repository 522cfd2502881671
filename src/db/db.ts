import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { DatabaseError, type Pool, type PoolClient, type QueryConfig } from 'pg';
import { type DataSource, type EntityManager, QueryFailedError } from 'typeorm';

/**
 * The services' way to the database. Inside `transaction(work)` every query a service makes,
 * through any service, runs on that transaction's connection: the binding opens one around an
 * operation that writes an audit event, so the change and its event commit together, and a
 * service's own `transaction()` joins it instead of taking a second connection (which the
 * embedded database, with its single session, could never grant).
 */
/** What a statement returned: its rows (RETURNING or SELECT) and the number of rows it changed. */
export interface QueryResult<Row> {
  rows: Row[];
  affected: number;
}

export interface DbOptions {
  /**
   * Let the hot statements a store marks `prepared` run as named prepared statements: each pooled
   * connection parses and plans them once. Off for the embedded database, whose one session
   * outlives the pool's connections (a reconnecting client would prepare a name it already holds).
   */
  namedStatements?: boolean;
}

export interface QueryOptions {
  /** A hot statement: a named prepared statement where the Db allows them (in a transaction too). Its text must not vary. */
  prepared?: boolean;
}

const DUPLICATE_PREPARED_STATEMENT = '42P05';

/** One name per statement text across the process: pg refuses a name reused for another text on a connection. */
const statementNames = new Map<string, string>();
/** Unique to this process, so a session that outlives its clients (PGlite's one) never holds a name another process gave another text. */
const STATEMENT_PREFIX = `warden_${randomBytes(4).toString('hex')}_`;

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `${STATEMENT_PREFIX}${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return name;
}

export class Db {
  private readonly ambient = new AsyncLocalStorage<EntityManager>();
  /** What to run after each open transaction commits, by its manager. */
  private readonly onCommit = new WeakMap<EntityManager, Array<() => void>>();
  private readonly namedStatements: boolean;

  constructor(
    readonly dataSource: DataSource,
    options: DbOptions = {},
  ) {
    this.namedStatements = options.namedStatements ?? false;
  }

  /**
   * Runs one statement on the current transaction (or a pooled connection): its rows, and how many
   * rows it changed. Outside a transaction the statement goes straight to pg's pool (one checkout,
   * one round trip), skipping TypeORM's per-query runner; errors are TypeORM's `QueryFailedError`
   * either way, so callers see one shape.
   */
  async query<Row extends object = Record<string, unknown>>(
    sql: string,
    parameters?: unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<Row>> {
    const manager = this.ambient.getStore();
    if (manager && options?.prepared && this.namedStatements) return this.queryNamedIn<Row>(manager, sql, parameters);
    const pool = manager ? undefined : (this.dataSource.driver as unknown as { master?: Pool }).master;
    if (pool === undefined) return this.queryThroughTypeorm<Row>(manager ?? this.dataSource.manager, sql, parameters);
    const config: QueryConfig = { text: sql, values: parameters };
    if (options?.prepared && this.namedStatements) config.name = statementName(sql);
    const client = await pool.connect().catch((error: Error) => {
      throw new QueryFailedError(sql, parameters, error);
    });
    let broken: Error | undefined;
    try {
      const result = await client.query<Row & Record<string, unknown>>(config);
      return { rows: result.rows, affected: result.rowCount ?? result.rows.length };
    } catch (error) {
      // The server's answer to a bad statement (a DatabaseError) leaves the connection usable; pg's
      // pool.query would drop it anyway, and PGlite's one-session server then refuses the new one.
      if (!(error instanceof DatabaseError)) broken = error as Error;
      // A session that outlives its client (PGlite's, reached as a server) may hold the name from
      // an earlier connection with the same text: that statement then runs unnamed.
      if (config.name && (error as { code?: string }).code === DUPLICATE_PREPARED_STATEMENT) {
        return await this.queryAfter(client, sql, parameters);
      }
      throw new QueryFailedError(sql, parameters, error as Error);
    } finally {
      client.release(broken);
    }
  }

  /** The statement again, unnamed, on the same connection. */
  private async queryAfter<Row>(client: PoolClient, sql: string, parameters?: unknown[]): Promise<QueryResult<Row>> {
    try {
      const result = await client.query<Row & Record<string, unknown>>(sql, parameters);
      return { rows: result.rows, affected: result.rowCount ?? result.rows.length };
    } catch (error) {
      throw new QueryFailedError(sql, parameters, error as Error);
    }
  }

  /** A named prepared statement on the transaction's own connection (TypeORM's runner takes only text). */
  private async queryNamedIn<Row>(manager: EntityManager, sql: string, parameters?: unknown[]): Promise<QueryResult<Row>> {
    const client = (manager.queryRunner as unknown as { databaseConnection?: PoolClient } | undefined)?.databaseConnection;
    if (!client) return this.queryThroughTypeorm<Row>(manager, sql, parameters);
    try {
      const result = await client.query<Row & Record<string, unknown>>({ name: statementName(sql), text: sql, values: parameters });
      return { rows: result.rows, affected: result.rowCount ?? result.rows.length };
    } catch (error) {
      throw new QueryFailedError(sql, parameters, error as Error);
    }
  }

  private async queryThroughTypeorm<Row>(manager: EntityManager, sql: string, parameters?: unknown[]): Promise<QueryResult<Row>> {
    const runner = manager.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      return { rows: result.records as Row[], affected: result.affected ?? result.records.length };
    } finally {
      if (!manager.queryRunner) await runner.release();
    }
  }

  /** Whether a statement made now would run inside a transaction (and commit only with it). */
  get inTransaction(): boolean {
    return this.ambient.getStore() !== undefined;
  }

  /** Runs `work` outside any request's transaction (for work that outlives the request that started it). */
  detached<T>(work: () => Promise<T>): Promise<T> {
    return this.ambient.exit(work);
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.ambient.getStore()) return work();
    const committed: Array<() => void> = [];
    const result = await this.dataSource.transaction((manager) => {
      this.onCommit.set(manager, committed);
      return this.ambient.run(manager, work);
    });
    for (const callback of committed) callback();
    return result;
  }

  /**
   * Runs `callback` once the current transaction has committed (never if it rolls back), or at
   * once outside a transaction: for word of a change sent out of Warden, which must not announce
   * what may yet be undone.
   */
  afterCommit(callback: () => void): void {
    const manager = this.ambient.getStore();
    const queue = manager && this.onCommit.get(manager);
    if (queue) queue.push(callback);
    else callback();
  }
}
