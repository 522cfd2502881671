import { SDK_VERSION } from '@warden/sdk';
import { Command, CommanderError } from 'commander';
import { agentCommands } from './commands/agents.js';
import { auditCommands } from './commands/audit.js';
import { authCommands } from './commands/auth.js';
import { installTokenCommands } from './commands/install-tokens.js';
import { keyCommands } from './commands/keys.js';
import { report } from './output.js';

/** Exit codes: 0 done, 1 refused or failed, 2 wrong usage, 130 cancelled at the prompt. */
const USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('warden')
    .description('The Warden command line: log in with an API key, then manage agents, keys, install tokens and the audit log')
    .version(SDK_VERSION)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  authCommands(program);
  agentCommands(program);
  keyCommands(program);
  auditCommands(program);
  installTokenCommands(program);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE;
    return report(error, argv.includes('--json'));
  }
}

process.exitCode = await run(process.argv.slice(2));
