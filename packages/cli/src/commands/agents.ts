import { unwrap } from '@warden/sdk';
import { type Command, InvalidArgumentError } from 'commander';
import { emit, fields, type JsonOption, table } from '../output.js';
import { session } from '../session.js';

type AgentView = { id: string; name: string; status: string; workspace_id: string | null; last_seen_at: string | null } & Record<
  string,
  unknown
>;

export const positiveInteger = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number of at least 1 is needed.');
  return number;
};

const agentPath = (id: string) => ({ params: { path: { id } } });
const agentLine = (agent: AgentView, what: string) => `Agent ${agent.id} (${agent.name}) ${what}; status: ${agent.status}`;

export function agentCommands(program: Command): void {
  const agents = program.command('agents').description("List and control the org's agents");

  agents
    .command('list')
    .description('List agents, newest first')
    .option('--status <status>', 'only agents in this state: active, disabled or revoked')
    .option('--workspace <ID>', 'only agents of this workspace')
    .option('--limit <n>', 'at most this many (default 100)', positiveInteger, 100)
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { status?: 'active' | 'disabled' | 'revoked'; workspace?: string; limit: number }) => {
      const { client } = session();
      const found: AgentView[] = [];
      const query = { status: options.status, workspace_id: options.workspace, limit: Math.min(options.limit, 200) };
      for await (const agent of client.paginate('/api/v1/agents', { params: { query } })) {
        found.push(agent);
        if (found.length >= options.limit) break;
      }
      emit(options, found, () =>
        found.length === 0
          ? 'No agents.'
          : table(
              ['ID', 'NAME', 'STATUS', 'WORKSPACE', 'LAST SEEN'],
              found.map((agent) => [agent.id, agent.name, agent.status, agent.workspace_id, agent.last_seen_at]),
            ),
      );
    });

  agents
    .command('get <id>')
    .description('Show one agent, by its agt_ id or sekuire_id')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: JsonOption) => {
      const agent = await unwrap(session().client.GET('/api/v1/agents/{id}', agentPath(id)));
      emit(options, agent, () =>
        fields([
          ['ID', agent.id],
          ['Name', agent.name],
          ['Status', agent.status],
          ['Disabled reason', agent.disabled_reason],
          ['Workspace', agent.workspace_id],
          ['Sekuire ID', agent.sekuire_id],
          ['DID', agent.did],
          ['Version', agent.version],
          ['Key proven at', agent.key_proven_at],
          ['Last seen', agent.last_seen_at],
          ['Revoked at', agent.revoked_at],
          ['Created', agent.created_at],
        ]),
      );
    });

  agents
    .command('kill <id>')
    .description('Kill switch: disable the agent at once; its installations are told to shut down')
    .option('--reason <text>', 'why, for the audit log and the shutdown command')
    .option('--until <date-time>', 'disable only until then (RFC 3339)')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: JsonOption & { reason?: string; until?: string }) => {
      const body = { reason: options.reason, expires_at: options.until };
      const agent = await unwrap(session().client.POST('/api/v1/kill-switch/{agent_id}', { params: { path: { agent_id: id } }, body }));
      emit(options, agent, () =>
        agentLine(agent, `disabled by the kill switch${agent.disabled_reason ? `: ${agent.disabled_reason}` : ''}`),
      );
    });

  agents
    .command('enable <id>')
    .description('Lift the kill switch')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: JsonOption) => {
      const agent = await unwrap(session().client.POST('/api/v1/agents/{id}/enable', agentPath(id)));
      emit(options, agent, () => agentLine(agent, 'enabled'));
    });

  agents
    .command('revoke <id>')
    .description('Revoke the agent for good: every credential it holds stops working')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: JsonOption) => {
      const agent = await unwrap(session().client.POST('/api/v1/agents/{id}/revoke', agentPath(id)));
      emit(options, agent, () => agentLine(agent, 'revoked (permanent)'));
    });
}
