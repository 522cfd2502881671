import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueryFailedError } from 'typeorm';
import { Db } from '../src/db/db';
import { isUniqueViolation } from '../src/db/errors';
import { createOrg, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The benchmarked hot paths run outside TypeORM's query runner and, on a real server, as named
 * prepared statements reused by every pooled connection: they must still answer each caller with
 * its own rows, and see a revocation at once.
 */
describe('hot paths: pooled, prepared statements', () => {
  let warden: TestApp;
  let a: TestOrg & { workspaceId: string };
  let b: TestOrg & { workspaceId: string };

  async function tenant(name: string) {
    const org = await createOrg(warden, 'enterprise', name);
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set('X-API-Key', org.key).send({ name }).expect(201);
    return { ...org, workspaceId: ws.body.id as string };
  }

  before(async () => {
    warden = await startTestApp();
    a = await tenant('Alpha');
    b = await tenant('Beta');
  });
  after(() => warden.close());

  it("answers many interleaved callers each with its own org's workspace, and another org's as absent", async () => {
    const get = (key: string, orgId: string, workspaceId: string) =>
      warden.request.get(`/api/v1/orgs/${orgId}/workspaces/${workspaceId}`).set('X-API-Key', key);
    // Concurrent, so several pooled connections prepare the statements and serve both keys.
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => {
        const [self, other] = i % 2 === 0 ? [a, b] : [b, a];
        switch (i % 6) {
          case 0:
          case 1:
            return get(self.key, self.id, self.workspaceId).then((res) => ({ res, expected: 200, self }));
          case 2:
          case 3:
            return get(self.key, other.id, other.workspaceId).then((res) => ({ res, expected: 404, self }));
          default:
            return get(self.key, self.id, other.workspaceId).then((res) => ({ res, expected: 404, self }));
        }
      }),
    );
    for (const { res, expected, self } of answers) {
      assert.equal(res.status, expected);
      if (expected === 200) {
        assert.equal(res.body.id, self.workspaceId);
        assert.equal(res.body.org_id, self.id);
        assert.equal(res.body.name, self === a ? 'Alpha' : 'Beta');
      }
    }
  });

  it('refuses a key as soon as it is revoked, though its look-up was prepared', async () => {
    const made = await warden.request
      .post('/api/v1/api-keys')
      .set('X-API-Key', a.key)
      .send({ name: 'soon revoked', permissions: ['workspace.read'] })
      .expect(201);
    for (let i = 0; i < 3; i++) {
      await warden.request.get(`/api/v1/orgs/${a.id}/workspaces/${a.workspaceId}`).set('X-API-Key', made.body.key).expect(200);
    }
    await warden.request.delete(`/api/v1/api-keys/${made.body.id}`).set('X-API-Key', a.key).expect(200);
    const refused = await warden.request
      .get(`/api/v1/orgs/${a.id}/workspaces/${a.workspaceId}`)
      .set('X-API-Key', made.body.key)
      .expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
  });

  it("keeps TypeORM's error shape outside a transaction, prepared or not", async () => {
    const db = new Db(warden.database.dataSource, { namedStatements: warden.database.namedStatements });
    for (const prepared of [false, true]) {
      const error = await db.query('SELECT 1 / $1::int AS n', [0], { prepared }).catch((caught: unknown) => caught);
      assert.ok(error instanceof QueryFailedError);
      assert.equal((error as QueryFailedError & { code?: string }).code, '22012');
      assert.equal((error.driverError as { code?: string }).code, '22012');
    }
    // A workspace name is unique in its org: the service's 409 reads the violation through this shape.
    const duplicate = await db
      .query(`INSERT INTO workspaces (id, org_id, name) VALUES ($1, $2, 'Alpha')`, [`ws_dup${process.pid}`, a.id])
      .catch((caught: unknown) => caught);
    assert.ok(duplicate instanceof QueryFailedError);
    assert.ok(isUniqueViolation(duplicate));
    const { rows, affected } = await db.query<{ n: number }>('SELECT $1::int + 1 AS n', [41], { prepared: true });
    assert.deepEqual(rows, [{ n: 42 }]);
    assert.equal(affected, 1);
  });
});
