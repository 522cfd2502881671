import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from 'pg';
import { MIGRATIONS_TABLE, openDatabase, quoteIdentifier } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { adminQuery, openTestDatabase, serverUrl } from './support/test-database';
import { testMigration } from './support/test-migrations';

const CreateNotes1700000000001 = testMigration('CreateNotes1700000000001', [
  'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)',
]);
const BrokenHalfway1700000000002 = testMigration('BrokenHalfway1700000000002', [
  'CREATE TABLE half_done (id int)',
  'SELECT * FROM table_that_does_not_exist',
]);

describe('embedded database (no DATABASE_URL)', () => {
  it('keeps its data in the data directory across restarts and applies each migration once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-data-'));
    try {
      const first = await openDatabase({ kind: 'embedded', dataDir }, { migrations: [CreateNotes1700000000001] });
      assert.equal(first.embedded, true);
      assert.deepEqual(first.poolStats().max, 1);
      await first.dataSource.query(`INSERT INTO notes (body) VALUES ('kept')`);
      await first.close();

      const second = await openDatabase({ kind: 'embedded', dataDir }, { migrations: [CreateNotes1700000000001] });
      try {
        assert.deepEqual(await second.dataSource.query('SELECT body FROM notes'), [{ body: 'kept' }]);
        assert.deepEqual(await second.pendingMigrations(), []);
        const applied = await second.dataSource.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
        assert.deepEqual(applied, [{ name: 'CreateNotes1700000000001' }]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("embedded database: reachable by Warden's user only", () => {
  it('listens on a Unix socket in a directory of mode 0700, not on a TCP port any local user can reach', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-data-'));
    chmodSync(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres(dataDir);
    try {
      assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'the data directory (PGlite writes its files world-writable)');
      assert.ok(statSync(embedded.socketPath).isSocket());
      assert.equal(dirname(embedded.socketPath), dataDir);
      assert.doesNotMatch(embedded.url, /@(127\.0\.0\.1|localhost|\[::1\])[:/]/);
      const client = new Client({ connectionString: embedded.url });
      await client.connect();
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      await client.end();
    } finally {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('migrations on the test database (embedded or DATABASE_URL)', () => {
  it('a failing migration leaves nothing half-written and stops start-up', async () => {
    await assert.rejects(
      openTestDatabase({ migrations: [CreateNotes1700000000001, BrokenHalfway1700000000002] }),
      /table_that_does_not_exist/,
    );
  });

  it('a failing migration rolls back its own statements', async () => {
    const database = await openTestDatabase({ migrations: [CreateNotes1700000000001, BrokenHalfway1700000000002], migrate: false });
    try {
      await assert.rejects(database.dataSource.runMigrations({ transaction: 'each' }));
      const [{ exists }] = await database.dataSource.query(`SELECT to_regclass('half_done') IS NOT NULL AS exists`);
      assert.equal(exists, false);
      assert.deepEqual(await database.pendingMigrations(), ['BrokenHalfway1700000000002']);
    } finally {
      await database.close();
    }
  });
});

describe('a real Postgres (DATABASE_URL)', { skip: serverUrl ? false : 'no DATABASE_URL or TEST_DATABASE_URL' }, () => {
  it('several instances starting at once apply each migration exactly once', async () => {
    const schema = `warden_test_${process.pid}_concurrent`;
    await adminQuery(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await adminQuery(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
    try {
      const instances = await Promise.all(
        Array.from({ length: 4 }, () =>
          openDatabase({ kind: 'server', url: serverUrl!, poolSize: 2, schema }, { migrations: [CreateNotes1700000000001] }),
        ),
      );
      const applied = await instances[0]!.dataSource.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
      assert.deepEqual(applied, [{ name: 'CreateNotes1700000000001' }]);
      assert.equal(instances[0]!.embedded, false);
      assert.equal(instances[0]!.poolStats().max, 2);
      await Promise.all(instances.map((instance) => instance.close()));
    } finally {
      await adminQuery(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    }
  });
});
