import { Client } from 'pg';
import { type Database, openDatabase, quoteIdentifier } from '../../src/db/database';
import type { Db } from '../../src/db/db';
import { ApiKeyService } from '../../src/modules/api-keys';
import { OrgService } from '../../src/modules/orgs';
import { OwnerGuard } from '../../src/modules/rbac';

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

/** An enterprise org and a live API key of it holding `permissions`, written through the services. */
export async function benchOrgWithKey(db: Db, permissions: string[]): Promise<{ orgId: string; key: string }> {
  return db.transaction(async () => {
    const orgs = new OrgService(db, 'http://localhost');
    const org = await orgs.create('Bench org', 'enterprise');
    const apiKey = await new ApiKeyService(db, orgs, new OwnerGuard(db, orgs)).insert({
      orgId: org.id,
      createdBy: null,
      name: 'bench',
      description: '',
      mode: 'live',
      permissions,
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    return { orgId: org.id, key: apiKey.key };
  });
}
