/**
 * The one policy evaluator (DESIGN §7): the gateway, /decisions and every later caller ask it
 * whether a call may go ahead. Pure: no I/O, no clock, so a decision can be replayed from the
 * policy versions it recorded.
 */

export interface PolicyRules {
  allowed_actions: string[];
  denied_path_prefixes: string[];
  max_cost_per_request_micros: number | null;
  require_approval: boolean;
  approval_min_cost_micros: number | null;
  approval_actions: string[];
}

export interface EffectivePolicy {
  id: string;
  version: number;
  name: string;
  rules: PolicyRules;
}

export interface GovernedCall {
  action: string;
  method: string;
  path: string;
  costMicros: number;
}

export type DenyReason = 'no_policy' | 'path_invalid' | 'cost_invalid' | 'action_not_allowed' | 'path_denied' | 'cost_exceeds_max';

export interface PolicyVerdict {
  outcome: 'allow' | 'deny' | 'approval_required';
  policyId: string | null;
  policyVersion: number | null;
  denyReason: DenyReason | null;
}

/**
 * `*` matches any run of characters (none included); everything else matches itself, ignoring
 * case. Greedy with one backtrack point, so the cost stays O(pattern × text) with no regex to
 * blow up on a hostile pattern.
 */
export function actionMatches(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase();
  const a = action.toLowerCase();
  let pi = 0;
  let ai = 0;
  let star = -1;
  let resume = 0;
  while (ai < a.length) {
    if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = ai;
    } else if (pi < p.length && p[pi] === a[ai]) {
      pi++;
      ai++;
    } else if (star >= 0) {
      pi = star + 1;
      ai = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

const anyMatches = (patterns: string[], action: string) => patterns.some((pattern) => actionMatches(pattern, action));

/** Characters that, once decoded, would let one path mean another to some server: refused rather than guessed at. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and other control characters are exactly what this refuses
const AMBIGUOUS = /[\\\u0000-\u001f\u007f%?#]/;

/**
 * The path as the upstream will understand it, or null when it is ambiguous. Percent-escapes are
 * decoded once (after which no `%` may remain: a double encoding is refused, not decoded again),
 * and an encoded `/` is refused (it would be a separator to some servers and not to others), as
 * are NUL and other control characters, backslashes (a separator on Windows servers), an
 * encoded `?` or `#`, and invalid escapes or UTF-8. Then repeated slashes collapse and `.`/`..`
 * segments resolve (never above the root). A query string, if any, is not part of the path.
 */
export function canonicalPath(raw: string): string | null {
  const path = raw.split('?', 1)[0]!;
  if (!path.startsWith('/') || /%2f/i.test(path)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (AMBIGUOUS.test(decoded)) return null;
  return joined(resolved(decoded.split('/')), decoded);
}

/** Dot segments resolved (never above the root), empty segments dropped. */
function resolved(segments: string[]): string[] {
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return out;
}

/** A trailing slash (or trailing dot segment, which names a directory) survives, except on the root. */
function joined(segments: string[], original: string): string {
  const trailing = original.endsWith('/') || /\/\.{1,2}$/.test(original);
  return `/${segments.join('/')}${trailing && segments.length > 0 ? '/' : ''}`;
}

/**
 * The form prefixes are compared in: lower case (a case-insensitive upstream must not open a
 * way round a denial) and without `;` parameters in a segment, resolved again (to many Java
 * servers `/admin;x=1` is `/admin` and `/x/..;/admin` is `/admin`).
 */
function comparable(canonical: string): string {
  const lower = canonical.toLowerCase();
  return joined(resolved(lower.split('/').map((segment) => segment.split(';', 1)[0]!)), lower);
}

/** On segment boundaries: `/admin` covers `/admin` and `/admin/x`, not `/administrator`; `/admin/` covers what starts with it. */
export function pathDenied(prefix: string, comparablePath: string): boolean {
  const p = prefix.toLowerCase();
  if (p.endsWith('/')) return comparablePath.startsWith(p);
  return comparablePath === p || comparablePath.startsWith(`${p}/`);
}

const verdict = (outcome: PolicyVerdict['outcome'], policy: EffectivePolicy | null, denyReason: DenyReason | null): PolicyVerdict => ({
  outcome,
  policyId: policy?.id ?? null,
  policyVersion: policy?.version ?? null,
  denyReason,
});

function denial(policy: EffectivePolicy, call: GovernedCall, path: string): DenyReason | null {
  const { rules } = policy;
  if (rules.allowed_actions.length > 0 && !anyMatches(rules.allowed_actions, call.action)) return 'action_not_allowed';
  if (rules.denied_path_prefixes.some((prefix) => pathDenied(prefix, path))) return 'path_denied';
  if (rules.max_cost_per_request_micros !== null && call.costMicros > rules.max_cost_per_request_micros) return 'cost_exceeds_max';
  return null;
}

function needsApproval(policy: EffectivePolicy, call: GovernedCall): boolean {
  const { rules } = policy;
  return (
    rules.require_approval ||
    (rules.approval_min_cost_micros !== null && call.costMicros >= rules.approval_min_cost_micros) ||
    anyMatches(rules.approval_actions, call.action)
  );
}

/**
 * Default deny: with no policy nothing is allowed. Policies are checked in order and the first
 * denial wins; if none denies, the first policy that asks for approval is reported; else the call
 * is allowed under the first policy. A path that cannot be canonicalised, or a cost that is not
 * a whole non-negative number of micro-dollars, is denied before any policy is read.
 */
export function evaluatePolicies(policies: EffectivePolicy[], call: GovernedCall): PolicyVerdict {
  if (policies.length === 0) return verdict('deny', null, 'no_policy');
  const canonical = canonicalPath(call.path);
  if (canonical === null) return verdict('deny', null, 'path_invalid');
  if (!Number.isSafeInteger(call.costMicros) || call.costMicros < 0) return verdict('deny', null, 'cost_invalid');
  const path = comparable(canonical);
  for (const policy of policies) {
    const reason = denial(policy, call, path);
    if (reason) return verdict('deny', policy, reason);
  }
  const approver = policies.find((policy) => needsApproval(policy, call));
  if (approver) return verdict('approval_required', approver, null);
  return verdict('allow', policies[0]!, null);
}
