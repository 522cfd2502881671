import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJson } from '../src/lib/canonical-json';
import { createOrg } from './support/identity';
import { startTestApp } from './support/test-app';

describe('audit exports: streamed JSON Lines that verify offline, and CSV safe from formula injection', () => {
  it('exports the chain in order; an outsider re-verifies the JSONL with SHA-256 and RFC 8785 alone', async () => {
    const warden = await startTestApp();
    try {
      const org = await createOrg(warden, 'starter');
      const key = { 'X-API-Key': org.key };
      for (let i = 0; i < 3; i++)
        await warden.request
          .post(`/api/v1/orgs/${org.id}/workspaces`)
          .set(key)
          .send({ name: `w${i}` })
          .expect(201);
      await warden.request
        .post(`/api/v1/orgs/${org.id}/workspaces`)
        .set(key)
        .set('User-Agent', '=HYPERLINK("http://evil.example","x")')
        .send({ name: 'formula' })
        .expect(201);

      const jsonl = await warden.request.get('/api/v1/audit/export.jsonl').set(key).expect(200);
      assert.match(jsonl.headers['content-type']!, /^application\/x-ndjson/);
      const lines = jsonl.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((event) => event.seq),
        [1, 2, 3, 4],
      );
      let prev = Buffer.alloc(32);
      for (const event of lines) {
        const { hash, prev_hash: prevHash, ...fields } = event;
        assert.equal(prevHash, prev.toString('hex'));
        const recomputed = createHash('sha256').update(prev).update(canonicalJson(fields)).digest();
        assert.equal(recomputed.toString('hex'), hash, `event ${event.seq} verifies offline`);
        prev = recomputed;
      }
      const filtered = await warden.request
        .get(`/api/v1/audit/export.jsonl?action=workspace.created&since=2000-01-01T00:00:00Z`)
        .set(key)
        .expect(200);
      assert.equal(filtered.text.trim().split('\n').length, 4);

      const csv = await warden.request.get('/api/v1/audit/export.csv').set(key).expect(200);
      assert.match(csv.headers['content-type']!, /^text\/csv/);
      const rows = csv.text.trim().split('\r\n');
      assert.equal(
        rows[0],
        'id,org_id,seq,occurred_at,actor_type,actor_id,workspace_id,action,resource_type,resource_id,outcome,request_id,ip,user_agent,details,prev_hash,hash',
      );
      assert.equal(rows.length, 5);
      assert.ok(rows[4]!.includes(`"'=HYPERLINK(""http://evil.example"",""x"")"`), rows[4]);
      assert.ok(!rows.some((row) => row.split(',').some((cell) => cell.startsWith('='))));
      const free = await createOrg(warden, 'free', 'Free');
      await warden.request.get('/api/v1/audit/export.csv').set('X-API-Key', free.key).expect(402);
      await warden.request.get(`/api/v1/audit/export.jsonl?org_id=${free.id}`).set(key).expect(404);
    } finally {
      await warden.close();
    }
  });

  it('streams a 20,000-event export, read from the database 1,000 events at a time', async () => {
    const warden = await startTestApp();
    try {
      const org = await createOrg(warden, 'starter');
      await warden.database.dataSource.query(
        `INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, action, resource_type, outcome, details, prev_hash, hash)
         SELECT 'evt_bulk' || g, $1, g, now(), 'system', 'bulk.test', 'bulk', 'success', '{}', '\\x00', '\\x00' FROM generate_series(1, 20000) g`,
        [org.id],
      );
      const res = await warden.request.get('/api/v1/audit/export.jsonl').set('X-API-Key', org.key).expect(200);
      const lines = res.text.trim().split('\n');
      assert.equal(lines.length, 20000);
      assert.equal(JSON.parse(lines[19999]!).seq, 20000);
    } finally {
      await warden.close();
    }
  });
});
