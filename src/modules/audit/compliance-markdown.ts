import type { ComplianceReport } from './compliance-service';

const FRAMEWORK_NAMES = { soc2: 'SOC 2 (Trust Services Criteria)', hipaa: 'HIPAA Security Rule' } as const;

/** Text Warden writes itself and means as Markdown; everything else in a cell is escaped. */
class Markup {
  constructor(readonly markdown: string) {}
}

const STATUS_MARKS = { satisfied: 'satisfied', attention: new Markup('**attention**'), not_applicable: 'not applicable' } as const;
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * Caller-chosen text (agent names, versions, reasons, …) as inert Markdown: one line, no raw HTML
 * (a renderer would run `<img onerror=…>`), and no emphasis, code, link, image, autolink,
 * strikethrough, heading or table syntax. `_` inside a word cannot start emphasis, so ids like `inst_01…` stay as they are.
 */
function escapeMarkdown(value: string): string {
  return (
    value
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this removes from caller-chosen text
      .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
      .replace(/[\\`*[\]!|~#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|:(?=\/\/)/g, (char) => `\\${char}`)
      .replace(/[&<>"]/g, (char) => HTML_ENTITIES[char]!)
  );
}

function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  return value instanceof Markup ? value.markdown : escapeMarkdown(String(value));
}

function table(headers: string[], rows: unknown[][]): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
}

/** The same report as an auditor reads it: evidence sections, then each control with its evidence. */
export function complianceMarkdown(report: ComplianceReport): string {
  const { agent, credentials, audit } = report;
  const lines = [
    `# Compliance report: ${cell(agent.name)}`,
    '',
    `Generated ${report.generated_at} for workspace \`${report.workspace_id}\` of org \`${report.organization_id}\`.`,
    `Frameworks: ${report.frameworks.map((framework) => FRAMEWORK_NAMES[framework]).join(', ')}.`,
    `Controls: ${report.summary.satisfied} satisfied, ${report.summary.attention} need attention, ` +
      `${report.summary.not_applicable} not applicable.`,
    '',
    '## Agent identity',
    '',
    ...table(
      ['Field', 'Value'],
      [
        ['Id', agent.id],
        ['sekuire_id', agent.sekuire_id],
        ['DID', agent.did],
        ['Version', agent.version],
        ['Identity', agent.identity === 'registered_key' ? 'registered Ed25519 key' : 'minted secret'],
        ['Key fingerprint', agent.public_key_fingerprint],
        ['Status', agent.status],
        ['Created', agent.created_at],
        [
          'Disabled',
          agent.disabled_reason ? `${agent.disabled_reason}${agent.disabled_until ? ` (until ${agent.disabled_until})` : ''}` : null,
        ],
        ['Revoked', agent.revoked_at],
      ],
    ),
    '',
    '## Credentials and rotation',
    '',
    ...table(
      ['Credential', 'State'],
      [
        ['Agent secret', credentials.agent_secret_issued ? 'issued (stored as SHA-256 digest)' : 'none'],
        [
          'Install tokens',
          `${credentials.install_tokens.issued} issued, ${credentials.install_tokens.used} used, ` +
            `${credentials.install_tokens.expired_unused} expired unused, ${credentials.install_tokens.outstanding} outstanding`,
        ],
        [
          'Runtime tokens',
          `${credentials.runtime_tokens.active} active, ${credentials.runtime_tokens.expiring_within_7_days} expiring within 7 days`,
        ],
        [
          'Refresh',
          `${credentials.refresh.rotations} rotations, last ${credentials.refresh.last_rotated_at ?? 'never'}, reuse detected ` +
            `${credentials.refresh.reuse_detected} times`,
        ],
      ],
    ),
    '',
    '## Installations and leases',
    '',
    ...(report.installations.length === 0
      ? ['No installations in this workspace.']
      : table(
          ['Installation', 'Status', 'Created', 'Token version', 'Last refresh', 'Last lease', 'Lease expires', 'Revoked'],
          report.installations.map((i) => [
            i.id,
            i.status,
            i.created_at,
            i.token_version,
            i.last_refreshed_at,
            i.last_lease_at,
            i.lease_expires_at,
            i.revoked_at ? `${i.revoked_at}${i.revoke_reason ? `: ${i.revoke_reason}` : ''}` : null,
          ]),
        )),
    '',
    '## Revocations',
    '',
    ...(report.revocations.length === 0
      ? ['None.']
      : table(
          ['Kind', 'Id', 'At', 'Reason'],
          report.revocations.map((r) => [r.kind, r.id, r.at, r.reason]),
        )),
    '',
    '## Audit trail',
    '',
    `${audit.events} events about the agent and its installations${audit.first_at ? `, ${audit.first_at} to ${audit.last_at}` : ''}.`,
    `Chain verification of \`${audit.chain.org_id}\`: ${chainVerdict(audit.chain)}.`,
    '',
    ...(Object.keys(audit.by_action).length === 0 ? [] : [...table(['Action', 'Events'], Object.entries(audit.by_action)), '']),
    ...(audit.recent.length === 0
      ? []
      : [
          ...table(
            ['Seq', 'At', 'Action', 'Actor', 'Outcome', 'Hash'],
            audit.recent.map((e) => [
              e.seq,
              e.occurred_at,
              e.action,
              `${e.actor_type} ${e.actor_id ?? ''}`.trim(),
              e.outcome,
              `${e.hash.slice(0, 16)}…`,
            ]),
          ),
          '',
        ]),
    '## Controls',
    '',
    ...report.frameworks.flatMap((framework) => [
      `### ${FRAMEWORK_NAMES[framework]}`,
      '',
      ...table(
        ['Control', 'Title', 'Status', 'Evidence'],
        report.controls
          .filter((control) => control.framework === framework)
          .map((control) => [control.control, control.title, STATUS_MARKS[control.status], control.evidence.join('; ')]),
      ),
      '',
    ]),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

function chainVerdict(chain: ComplianceReport['audit']['chain']): string {
  if (chain.valid) return `valid, ${chain.events_checked} events checked, head seq ${chain.head_seq}`;
  return `**broken** at seq ${chain.first_broken_seq} (${chain.reason})`;
}
