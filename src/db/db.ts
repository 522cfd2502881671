import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';

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

export class Db {
  private readonly ambient = new AsyncLocalStorage<EntityManager>();

  constructor(readonly dataSource: DataSource) {}

  /** The current transaction's manager, or the pool's. */
  private get manager(): EntityManager {
    return this.ambient.getStore() ?? this.dataSource.manager;
  }

  /** Runs one statement on the current transaction (or a pooled connection): its rows, and how many rows it changed. */
  async query<Row extends object = Record<string, unknown>>(sql: string, parameters?: unknown[]): Promise<QueryResult<Row>> {
    const manager = this.manager;
    const runner = manager.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      return { rows: result.records as Row[], affected: result.affected ?? result.records.length };
    } finally {
      if (!manager.queryRunner) await runner.release();
    }
  }

  /** Runs `work` outside any request's transaction (for work that outlives the request that started it). */
  detached<T>(work: () => Promise<T>): Promise<T> {
    return this.ambient.exit(work);
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.ambient.getStore()) return work();
    return this.dataSource.transaction((manager) => this.ambient.run(manager, work));
  }
}
