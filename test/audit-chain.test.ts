import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditChain } from '../src/audit/audit-chain';
import { openDatabase } from '../src/db/database';
import { Db } from '../src/db/db';
import { startTestApp } from './support/test-app';
import { serverUrl } from './support/test-database';

describe('the chain stays one gap-free line under concurrent writers', () => {
  it('32 concurrent appends on one database', async () => {
    const warden = await startTestApp();
    try {
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          warden.services.audit.record({
            orgId: 'org_concurrent',
            actor: { type: 'system', id: null },
            action: 'test.append',
            outcome: 'success',
            details: { i },
          }),
        ),
      );
      assert.deepEqual(await warden.services.audit.verifyChain('org_concurrent'), {
        valid: true,
        org_id: 'org_concurrent',
        events_checked: 32,
        head_seq: 32,
        first_broken_seq: null,
        reason: null,
        checkpoint: null,
      });
    } finally {
      await warden.close();
    }
  });

  it('32 concurrent writers across two DataSources ("two instances") on a real PostgreSQL', {
    skip: serverUrl ? false : 'needs DATABASE_URL or TEST_DATABASE_URL',
  }, async () => {
    const warden = await startTestApp();
    const schema = warden.database.schema!;
    const second = await openDatabase({ kind: 'server', url: serverUrl!, poolSize: 8, schema }, { migrate: false });
    try {
      const instances = [warden.services.audit, new AuditChain(new Db(second.dataSource))];
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          instances[i % 2]!.record({
            orgId: 'org_two_instances',
            actor: { type: 'system', id: null },
            action: 'test.append',
            outcome: 'success',
            details: { i },
          }),
        ),
      );
      const verdict = await warden.services.audit.verifyChain('org_two_instances');
      assert.deepEqual(verdict, {
        valid: true,
        org_id: 'org_two_instances',
        events_checked: 32,
        head_seq: 32,
        first_broken_seq: null,
        reason: null,
        checkpoint: null,
      });
      const seqs = await warden.auditRows(`SELECT seq::int AS seq FROM audit_events WHERE org_id = 'org_two_instances' ORDER BY seq`);
      assert.deepEqual(
        seqs.map((row: { seq: number }) => row.seq),
        Array.from({ length: 32 }, (_, i) => i + 1),
      );
    } finally {
      await second.close();
      await warden.close();
    }
  });
});
