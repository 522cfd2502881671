import { Writable } from 'node:stream';
import supertest from 'supertest';
import { type App, type AppOptions, createApp } from '../../src/app';
import { type Config, loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logging/logger';
import { ContractChecker } from './contract-checker';
import { openTestDatabase, type TestDatabase } from './test-database';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

/** supertest, with every response checked against the spec the app was bound to. */
export type ContractClient = Record<Method, (url: string) => supertest.Test>;

export interface TestApp extends App {
  request: ContractClient;
  database: TestDatabase;
  config: Config;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /**
   * A query on the audit log's tables once every event committed so far is chained (operations
   * answer before their events are chained; the API's own reads settle the same way).
   */
  // biome-ignore lint/suspicious/noExplicitAny: rows typed as DataSource.query types them
  auditRows(sql: string, params?: unknown[]): Promise<any>;
  close(): Promise<void>;
}

export interface TestAppOptions extends Pick<AppOptions, 'definition' | 'handlers' | 'contract'> {
  config?: Partial<Config>;
  /** A database the caller opened (and closes); by default the app opens and closes its own. */
  database?: TestDatabase;
}

/**
 * The app as `npm start` builds it, on the test file's own database, with a logger whose lines
 * the test can read. Responses are checked against the bound spec; only the published spec's
 * responses count towards the suite's coverage of operations and statuses.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const defaults = loadConfig({});
  // Rate-limit overrides name only the buckets a test tightens or loosens; the rest keep their defaults.
  const config: Config = {
    ...defaults,
    logLevel: 'debug',
    // As in development: a response off its spec, or an audited overwrite that noted no before, is a 500 the test sees.
    validateResponses: true,
    // Feature-flagged operations are routed, so the sweeps over every operation reach them; a test of the flag turns it off.
    gitops: { ...defaults.gitops, enabled: true },
    ...options.config,
    rateLimits: { ...defaults.rateLimits, ...options.config?.rateLimits },
  };
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const database = options.database ?? (await openTestDatabase());
  try {
    const app = await createApp({
      config,
      database,
      logger: createLogger(config.logLevel, sink),
      definition: options.definition,
      handlers: options.handlers,
      contract: options.contract,
    });
    const checker = new ContractChecker(app.binding.spec, options.definition === undefined);
    const agent = supertest(app.app);
    const method = (name: Method) => (url: string) => agent[name](url).expect((res) => checker.check(name, url, res));
    const request: ContractClient = {
      get: method('get'),
      post: method('post'),
      put: method('put'),
      patch: method('patch'),
      delete: method('delete'),
      head: method('head'),
      options: method('options'),
    };
    return {
      ...app,
      request,
      database,
      config,
      logs,
      auditRows: async (sql, params) => {
        await app.services.audit.settled();
        return database.dataSource.query(sql, params);
      },
      close: async () => {
        // Events still on their way to their chain would otherwise meet a closed database.
        await app.services.audit.settled().catch(() => undefined);
        if (!options.database) await database.close();
      },
    };
  } catch (error) {
    if (!options.database) await database.close();
    throw error;
  }
}
