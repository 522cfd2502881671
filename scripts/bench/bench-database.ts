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
      // The load far exceeds any real key's budget: count it, but never refuse it.
      rateLimitPerMinute: 100_000,
    });
    return { orgId: org.id, key: apiKey.key };
  });
}

/** A POST to a bench server's API with an org key: the answer, or an error naming the fixture step that failed. */
export function fixturePoster(port: number, key: string): (path: string, body: object) => Promise<Record<string, string>> {
  return async (path, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, string>;
    if (!res.ok) throw new Error(`a bench fixture: POST ${path} answered ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
}

/** Three policies a bench agent holds: each is evaluated on every call, none refuses it. */
export const GOVERNING_POLICIES = [
  { allowed_actions: ['GET /v1/*', 'POST /v1/*'], max_cost_per_request: 5 },
  { denied_path_prefixes: ['/admin', '/internal/'], max_cost_per_request: 10 },
  { approval_min_cost: 100, approval_actions: ['payments.*'] },
];

/** An agent under GOVERNING_POLICIES with a budget no bench run exhausts, made through the API: its id and secret. */
export async function governedBenchAgent(post: ReturnType<typeof fixturePoster>): Promise<{ id: string; secret: string }> {
  const policyIds: string[] = [];
  for (const [i, rules] of GOVERNING_POLICIES.entries())
    policyIds.push((await post('/api/v1/policies', { name: `bench ${i}`, ...rules })).id!);
  const agent = await post('/api/v1/agents', { name: 'bench agent', policy_ids: policyIds, daily_budget: 1_000_000 });
  return { id: agent.id!, secret: agent.agent_secret! };
}
