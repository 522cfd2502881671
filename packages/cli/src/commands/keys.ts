import { type components, unwrap } from '@warden/sdk';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { emit, fields, type JsonOption, table } from '../output.js';
import { session } from '../session.js';

type ApiKey = components['schemas']['ApiKey'];

const nonNegativeInteger = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('a whole number of seconds is needed.');
  return number;
};
const shown = (key: ApiKey) => `${key.prefix}...${key.last_four}`;
const keyPath = (id: string) => ({ params: { path: { id } } });
const secretNotice = (secret: string) => `Secret (shown only once, store it now):\n${secret}`;

export function keyCommands(program: Command): void {
  const keys = program.command('keys').description("Manage the org's API keys");

  keys
    .command('create')
    .description('Create an API key; its secret is shown once')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--description <text>', 'a longer note')
    .addOption(new Option('--expires-in-days <days>', 'lifetime (default 365)').choices(['30', '180', '365']))
    .option('--permissions <list>', 'comma-separated permissions (default: all of yours)')
    .option('--test', 'make an sk_test_ key')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        options: JsonOption & { name: string; description?: string; expiresInDays?: string; permissions?: string; test?: boolean },
      ) => {
        const body = {
          name: options.name,
          description: options.description,
          expires_in_days: options.expiresInDays === undefined ? undefined : (Number(options.expiresInDays) as 30 | 180 | 365),
          permissions: options.permissions?.split(',').map((permission) => permission.trim()),
          mode: options.test ? ('test' as const) : undefined,
        };
        const created = await unwrap(session().client.POST('/api/v1/api-keys', { body }));
        emit(
          options,
          created,
          () => `Created API key ${created.id} (${created.name}), expires ${created.expires_at}.\n${secretNotice(created.key)}`,
        );
      },
    );

  keys
    .command('list')
    .description('List API keys, newest first (secrets are never listed)')
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption) => {
      const found: ApiKey[] = [];
      for await (const key of session().client.paginate('/api/v1/api-keys', { params: { query: { limit: 200 } } })) found.push(key);
      emit(options, found, () =>
        table(
          ['ID', 'NAME', 'MODE', 'KEY', 'EXPIRES', 'LAST USED', 'REVOKED'],
          found.map((key) => [key.id, key.name, key.mode, shown(key), key.expires_at, key.last_used_at, key.revoked_at]),
        ),
      );
    });

  keys
    .command('revoke <id>')
    .description('Revoke an API key at once')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: JsonOption) => {
      const key = await unwrap(session().client.DELETE('/api/v1/api-keys/{id}', keyPath(id)));
      emit(options, key, () =>
        fields([
          ['Revoked API key', `${key.id} (${key.name}, ${shown(key)})`],
          ['Revoked at', key.revoked_at],
        ]),
      );
    });

  keys
    .command('roll <id>')
    .description('Replace an API key’s secret; the old one works for the grace period')
    .option('--grace-period <seconds>', 'how long the old secret keeps working (0–86400, default 0)', nonNegativeInteger)
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: JsonOption & { gracePeriod?: number }) => {
      const body = options.gracePeriod === undefined ? {} : { grace_period_seconds: options.gracePeriod };
      const rolled = await unwrap(session().client.POST('/api/v1/api-keys/{id}/roll', { ...keyPath(id), body }));
      emit(options, rolled, () => `Rolled API key ${rolled.id} (${rolled.name}).\n${secretNotice(rolled.key)}`);
    });
}
