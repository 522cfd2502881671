/**
 * Sections of the portal's introduction that are tables of what Warden enforces: the error-code
 * catalog (from the `ErrorCode` schema, which test/error-codes.test.ts keeps equal to
 * src/errors/codes.ts) and the plan table (src/auth/plans.ts, what `GET /api/v1/plans` serves).
 * Made at `npm run generate` so that the docs show the code's values, not a copy of them.
 */
import type { components } from '../generated/api';

type Plan = components['schemas']['Plan'];

interface EnumWithDescriptions {
  enum: string[];
  'x-enumDescriptions': Record<string, string>;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function errorCodeSection(errorCode: EnumWithDescriptions): string {
  const rows = errorCode.enum.map((code) => {
    const [status, meaning] = errorCode['x-enumDescriptions'][code]!.split(' — ');
    return `| ${status} | \`${code}\` | ${cell(meaning ?? '')} |`;
  });
  return [
    '## Error codes',
    'Every `code` an error body can carry, with its status. Branch on `code`, not on `message`.',
    '',
    '| status | `code` | meaning |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}

export function planSection(plans: readonly Plan[]): string {
  const features = [...new Set(plans.flatMap((plan) => plan.features))];
  const quotas = Object.keys(plans[0]!.quotas) as Array<keyof Plan['quotas']>;
  const row = (label: string, values: string[]) => `| ${label} | ${values.join(' | ')} |`;
  return [
    '## Plans',
    "Each org has a plan (`GET /api/v1/plans`, `GET /api/v1/orgs`). A feature an operation's `x-plan-feature` names is",
    'refused with 402 on plans without it, and a quota that is used up refuses the next create with 402, both with',
    "`required_plan` and `upgrade_url`. A platform admin changes an org's plan with `PUT /api/v1/orgs/{org_id}/plan`.",
    '',
    `| | ${plans.map((plan) => `**${plan.name}**`).join(' | ')} |`,
    `|---|${plans.map(() => '---').join('|')}|`,
    ...quotas.map((quota) =>
      row(
        `${quota} (quota)`,
        plans.map((plan) => String(plan.quotas[quota] ?? 'unlimited')),
      ),
    ),
    row(
      'audit log retention (days)',
      plans.map((plan) => String(plan.audit_log_retention_days)),
    ),
    ...features.map((feature) =>
      row(
        `\`${feature}\``,
        plans.map((plan) => (plan.features.includes(feature) ? '✓' : '—')),
      ),
    ),
  ].join('\n');
}

/**
 * Ends each operation's description with its operationId: the portal's search indexes
 * descriptions but not operationIds, and the id is what generated clients and the SDK's
 * error reports call an operation.
 */
export function showOperationIds(paths: Record<string, Record<string, unknown>>): void {
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item) as Array<{ operationId?: string; description?: string }>) {
      if (!operation?.operationId) continue;
      operation.description = `${(operation.description ?? '').trimEnd()}\n\nOperation id: \`${operation.operationId}\`.\n`;
    }
  }
}
