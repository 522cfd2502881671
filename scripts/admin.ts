/**
 * `npm run admin -- <command>`: local administration that needs access to the database instead
 * of an API key. It opens the database `npm start` would (DATABASE_URL, or the embedded one in
 * WARDEN_DATA_DIR, which only one process at a time can open: stop Warden first).
 *
 *   create-owner-key [--org org_…]   a new owner API key, printed once (the only org, or the one named)
 */
import { parseArgs } from 'node:util';
import { SigningKey } from '../src/auth/signing-key';
import { ConfigError, loadConfig } from '../src/config/config';
import { openDatabase } from '../src/db/database';
import { Db } from '../src/db/db';
import { DataDirInUseError } from '../src/db/embedded-postgres';
import { InstanceSecrets } from '../src/db/instance-secrets';
import { ApiKeyService } from '../src/modules/api-keys';
import { AuditService } from '../src/modules/audit';
import { createOwnerKey, OrgService, OwnerKeyRefused } from '../src/modules/orgs';
import { OwnerGuard } from '../src/modules/rbac';

const USAGE = 'Usage: npm run admin -- create-owner-key [--org org_…]';

class UsageError extends Error {}

async function admin(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: { org: { type: 'string' } }; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: { org: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...rest] = parsed.positionals;
  if (command !== 'create-owner-key' || rest.length > 0)
    throw new UsageError(command ? `unknown command '${[command, ...rest].join(' ')}'.` : 'no command.');

  const config = loadConfig();
  const database = await openDatabase(
    config.databaseUrl ? { kind: 'server', url: config.databaseUrl, poolSize: 1 } : { kind: 'embedded', dataDir: config.dataDir },
  );
  try {
    const db = new Db(database.dataSource);
    const orgs = new OrgService(db, config.upgradeUrl);
    const { orgId, apiKey } = await createOwnerKey({
      db,
      apiKeys: new ApiKeyService(db, orgs, new OwnerGuard(db, orgs)),
      audit: new AuditService(db, new SigningKey(new InstanceSecrets(database.dataSource)), orgs),
      orgId: parsed.values.org,
    });
    process.stdout.write(
      `${[
        '',
        `  Created an owner API key (${apiKey.id}) for the org ${orgId}.`,
        '  It is shown this once and stored only as a hash. Copy it now:',
        '',
        `      ${apiKey.key}`,
        '',
        '  Create an owner user with it (POST /api/v1/users, "role": "owner"), then revoke it.',
        '',
      ].join('\n')}\n`,
    );
  } finally {
    await database.close();
  }
}

admin(process.argv.slice(2)).catch((error: unknown) => {
  const message = (error as Error).message;
  if (error instanceof UsageError) console.error(`${message}\n${USAGE}`);
  else if (error instanceof ConfigError || error instanceof DataDirInUseError || error instanceof OwnerKeyRefused)
    console.error(`warden admin: ${message}`);
  else console.error(`warden admin failed: ${(error as Error)?.name ?? 'Error'}: ${message}`);
  process.exit(1);
});
