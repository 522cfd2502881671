import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { MigrationInterface } from 'typeorm';
import { type Database, openDatabase, quoteIdentifier } from '../../src/db/database';

/** The real Postgres the suite runs on, when one is named; otherwise each file gets an embedded one. */
export const serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

export interface TestDatabase extends Database {
  /** The schema this test file owns on a real server (undefined on the embedded database). */
  schema?: string;
}

/**
 * A database of the test file's own: on a real server a fresh schema (dropped on close), so test
 * files can run in parallel; otherwise a throw-away in-memory PGlite.
 */
export async function openTestDatabase(
  options: { migrations?: Array<new () => MigrationInterface>; migrate?: boolean } = {},
): Promise<TestDatabase> {
  if (!serverUrl) return openDatabase({ kind: 'embedded', dataDir: undefined }, options);
  const schema = `warden_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
  try {
    // Tests fire bursts (50 concurrent bootstraps) at a pool of 4 on a busy machine: they may queue
    // longer than production's 3 s bound without anything being wrong.
    const database = await openDatabase({ kind: 'server', url: serverUrl, poolSize: 4, schema, connectTimeoutMs: 30_000 }, options);
    return {
      ...database,
      schema,
      async close() {
        await database.close();
        await adminQuery(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
      },
    };
  } catch (error) {
    await adminQuery(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    throw error;
  }
}

export async function adminQuery(sql: string, values: unknown[] = []): Promise<unknown[]> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}
