import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOrg } from './support/identity';
import { startTestApp } from './support/test-app';

describe('retention: custom retention (Enterprise), purge with a signed checkpoint, verification from the cut', () => {
  it('PUT /enterprise/orgs/{org_id}/retention takes 366..3650 days on Enterprise only', async () => {
    const warden = await startTestApp();
    try {
      const enterprise = await createOrg(warden, 'enterprise', 'Big');
      const key = { 'X-API-Key': enterprise.key };
      const res = await warden.request
        .put(`/api/v1/enterprise/orgs/${enterprise.id}/retention`)
        .set(key)
        .send({ audit_log_retention_days: 730 })
        .expect(200);
      assert.deepEqual(res.body, { org_id: enterprise.id, audit_log_retention_days: 730 });
      for (const days of [365, 3651, 0]) {
        const bad = await warden.request
          .put(`/api/v1/enterprise/orgs/${enterprise.id}/retention`)
          .set(key)
          .send({ audit_log_retention_days: days })
          .expect(422);
        assert.equal(bad.body.details[0].field, 'audit_log_retention_days');
      }
      await warden.request
        .put(`/api/v1/enterprise/orgs/${enterprise.id}/retention`)
        .set(key)
        .send({ audit_log_retention_days: 3650 })
        .expect(200);
      const pro = await createOrg(warden, 'professional', 'Pro');
      const gated = await warden.request
        .put(`/api/v1/enterprise/orgs/${pro.id}/retention`)
        .set('X-API-Key', pro.key)
        .send({ audit_log_retention_days: 730 })
        .expect(402);
      assert.equal(gated.body.required_plan, 'enterprise');
      await warden.request.put(`/api/v1/enterprise/orgs/${pro.id}/retention`).set(key).send({ audit_log_retention_days: 730 }).expect(404);
      const [event] = await warden.auditRows(`SELECT action FROM audit_events WHERE org_id = $1 AND action = 'audit.retention_set'`, [
        enterprise.id,
      ]);
      assert.ok(event, 'the change is audited');
    } finally {
      await warden.close();
    }
  });

  it('the purge deletes expired events, leaves a signed checkpoint, and the rest still verifies; a forged checkpoint does not', async () => {
    const warden = await startTestApp();
    try {
      const org = await createOrg(warden, 'starter', 'Retained');
      const key = { 'X-API-Key': org.key };
      for (let i = 0; i < 5; i++)
        await warden.request
          .post(`/api/v1/orgs/${org.id}/workspaces`)
          .set(key)
          .send({ name: `r${i}` })
          .expect(201);
      const rows = await warden.auditRows(`SELECT seq::int AS seq, occurred_at FROM audit_events WHERE org_id = $1 ORDER BY seq`, [org.id]);
      // The starter plan keeps 90 days: purge as of 90 days after event 3, so events 1..3 expire.
      const now = new Date(rows[2].occurred_at.getTime() + 90 * 86_400_000 + 1);
      const purged = await warden.services.audit.purgeExpired(await warden.services.orgs.auditRetentionDays(), now);
      assert.equal(purged[org.id], 3);
      const left = await warden.auditRows(`SELECT seq::int AS seq FROM audit_events WHERE org_id = $1 ORDER BY seq`, [org.id]);
      assert.deepEqual(
        left.map((row: { seq: number }) => row.seq),
        [4, 5],
      );

      const verdict = (await warden.request.get('/api/v1/audit/verify').set(key).expect(200)).body;
      assert.equal(verdict.valid, true);
      assert.equal(verdict.events_checked, 2);
      assert.equal(verdict.checkpoint.seq, 3);
      assert.equal(verdict.checkpoint.cut_at, now.toISOString());
      const jwks = await warden.request.get('/.well-known/jwks.json').expect(200);
      assert.equal(verdict.checkpoint.key_id, jwks.body.keys[0].kid);
      assert.deepEqual(
        await warden.services.audit.purgeExpired(await warden.services.orgs.auditRetentionDays(), now),
        {},
        'a second purge at the same time cuts nothing',
      );

      await warden.database.dataSource.query(`UPDATE audit_checkpoints SET seq = 2 WHERE org_id = $1`, [org.id]);
      const forged = (await warden.request.get('/api/v1/audit/verify').set(key).expect(200)).body;
      assert.equal(forged.valid, false);
      assert.equal(forged.reason, 'edited');
      assert.equal(forged.first_broken_seq, 2);
    } finally {
      await warden.close();
    }
  });
});
