import { Client } from 'pg';
import { type Database, openDatabase, quoteIdentifier } from '../../src/db/database';

/**
 * A migrated database of the bench's own for the length of `work`: a fresh schema on
 * DATABASE_URL (dropped afterwards) when it is set, else an in-memory embedded one.
 */
export async function withBenchDatabase<T>(
  label: string,
  poolSize: number,
  work: (database: Database, schema: string | undefined) => Promise<T>,
): Promise<T> {
  const serverUrl = process.env.DATABASE_URL || undefined;
  const schema = serverUrl ? `warden_bench_${label}_${process.pid}` : undefined;
  if (serverUrl) await adminQuery(serverUrl, `CREATE SCHEMA ${quoteIdentifier(schema!)}`);
  try {
    const database = serverUrl
      ? await openDatabase({ kind: 'server', url: serverUrl, poolSize, schema })
      : await openDatabase({ kind: 'embedded', dataDir: undefined });
    try {
      return await work(database, schema);
    } finally {
      await database.close();
    }
  } finally {
    if (serverUrl) await adminQuery(serverUrl, `DROP SCHEMA IF EXISTS ${quoteIdentifier(schema!)} CASCADE`);
  }
}

/** One statement on the server's own connection, outside any bench schema (CREATE/DROP of schemas and databases). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
