/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database)
 * and exits; `npm start` does the same on start-up.
 */
import { ConfigError, loadConfig } from '../src/config/config';
import { MIGRATIONS_TABLE, openDatabase } from '../src/db/database';

async function migrate(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(
    config.databaseUrl ? { kind: 'server', url: config.databaseUrl, poolSize: 1 } : { kind: 'embedded', dataDir: config.dataDir },
  );
  const applied = await database.dataSource.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`);
  console.log(
    `Migrations applied: ${applied.length} (${database.embedded ? `embedded, ${config.dataDir}` : 'DATABASE_URL'}); pending: none.`,
  );
  await database.close();
}

migrate().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `Migration failed: ${(error as Error).message}`);
  process.exit(1);
});
