import { unwrap } from '@warden/sdk';
import type { Command } from 'commander';
import { CliError, emit, fields, type JsonOption } from '../output.js';
import { session } from '../session.js';
import { positiveInteger } from './agents.js';

export function installTokenCommands(program: Command): void {
  program
    .command('install-token')
    .description('Install tokens, with which one deployment of an agent bootstraps')
    .command('create')
    .description('Create a single-use install token for an agent in a workspace; shown once')
    .requiredOption('--agent <ID>', "the agent's agt_ id or sekuire_id")
    .option('--workspace <ID>', 'the workspace (default: the one given at login)')
    .option('--expiry-minutes <n>', 'how long it stays valid, 1–1440 (default 15)', positiveInteger)
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { agent: string; workspace?: string; expiryMinutes?: number }) => {
      const { client, auth } = session();
      const workspaceId = options.workspace ?? auth?.workspace_id;
      if (!workspaceId) throw new CliError('Name the workspace with --workspace ws_… (or log in with --workspace).', 2);
      const created = await unwrap(
        client.POST('/api/v1/workspaces/{workspace_id}/install-tokens', {
          params: { path: { workspace_id: workspaceId } },
          body: { agent_id: options.agent, expiry_minutes: options.expiryMinutes },
        }),
      );
      emit(options, created, () =>
        fields([
          ['Install token (shown only once)', created.token],
          ['Agent', created.agent_id],
          ['Workspace', created.workspace_id],
          ['Expires', created.expires_at],
        ]),
      );
    });
}
