/**
 * The shape of the house (README "Where things live"), checked by reading the source:
 * SQL lives only in stores and migrations; modules meet only through their `index.ts` faces;
 * nothing below the modules imports a module or the composition root.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const read = (path: string) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') });
const files = sourceFiles(SRC).map(read);
/** Scripts (generate, migrate, admin, bench) are outside the layers but, like app.ts, meet modules only at their faces. */
const scripts = sourceFiles(join(ROOT, 'scripts')).map(read);

/** Layers below the modules: none of them may know a module or the composition root. */
const KERNELS = ['audit', 'auth', 'binding', 'config', 'db', 'errors', 'lib', 'logging', 'mail', 'metrics', 'outbound', 'crypto'];
/** Files directly under src/modules/ that compose the modules (they import faces only). */
const COMPOSITION = new Set(['src/modules/index.ts', 'src/modules/services.ts', 'src/modules/handler.ts']);

interface Import {
  from: string;
  to: string;
}

function importsOf(file: { path: string; text: string }): Import[] {
  const specifiers = [...file.text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)].map(
    (match) => match[1] ?? match[2] ?? '',
  );
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => ({ from: file.path, to: relative(ROOT, resolve(ROOT, dirname(file.path), specifier)).replace(/\.ts$/, '') }));
}

/** `src/modules/<m>` of a path inside a module, or undefined. */
function moduleOf(path: string): string | undefined {
  const match = /^src\/modules\/([^/]+)\//.exec(path);
  return match && !COMPOSITION.has(path) ? match[1] : undefined;
}

function isFace(target: string): boolean {
  return /^src\/modules\/[^/]+(\/index)?$/.test(target);
}

const imports = files.flatMap(importsOf);
const scriptImports = scripts.flatMap(importsOf);

/** Which store owns each table (README "Where things live"): only it writes the table. */
const TABLE_OWNERS: Record<string, string> = {
  support_tickets: 'src/modules/support/support-ticket-store.ts',
  image_registry_credentials: 'src/modules/images/registry-credential-store.ts',
  images: 'src/modules/images/image-store.ts',
  image_scans: 'src/modules/images/image-scan-store.ts',
  orgs: 'src/modules/orgs/org-store.ts',
  users: 'src/modules/users/user-store.ts',
  roles: 'src/modules/rbac/rbac-store.ts',
  user_roles: 'src/modules/rbac/rbac-store.ts',
  api_keys: 'src/modules/api-keys/api-key-store.ts',
  api_key_secrets: 'src/modules/api-keys/api-key-store.ts',
  api_key_devices: 'src/modules/api-keys/api-key-device-store.ts',
  sessions: 'src/modules/auth/session-store.ts',
  login_links: 'src/modules/auth/login-link-store.ts',
  signup_idempotency_keys: 'src/modules/auth/signup-key-store.ts',
  admin_pin_challenges: 'src/modules/admin/admin-store.ts',
  workspaces: 'src/modules/workspaces/workspace-store.ts',
  workspace_members: 'src/modules/workspaces/workspace-store.ts',
  environments: 'src/modules/workspaces/environment-store.ts',
  agents: 'src/modules/agents/agent-store.ts',
  installations: 'src/modules/installations/installation-store.ts',
  install_tokens: 'src/modules/installations/installation-store.ts',
  runtime_tokens: 'src/modules/installations/installation-store.ts',
  superseded_refresh_tokens: 'src/modules/installations/installation-store.ts',
  audit_events: 'src/audit/audit-store.ts',
  audit_chain_heads: 'src/audit/audit-store.ts',
  audit_pending: 'src/audit/audit-store.ts',
  audit_checkpoints: 'src/audit/audit-store.ts',
  billing_events: 'src/modules/billing/billing-store.ts',
  billing_settings: 'src/modules/billing/billing-settings-store.ts',
  stripe_invoices: 'src/modules/billing/stripe-store.ts',
  stripe_webhook_events: 'src/modules/billing/stripe-store.ts',
  agent_daily_spend: 'src/modules/billing/billing-store.ts',
  approvals: 'src/modules/approvals/approval-store.ts',
  approval_settings: 'src/modules/approvals/approval-store.ts',
  policies: 'src/modules/policies/policy-store.ts',
  policy_versions: 'src/modules/policies/policy-store.ts',
  data_keys: 'src/crypto/data-key-store.ts',
  vendors: 'src/modules/vendors/vendor-store.ts',
  gateway_keys: 'src/modules/gateway-keys/gateway-key-store.ts',
  jobs: 'src/modules/jobs/job-store.ts',
  workflows: 'src/modules/workflows/workflow-store.ts',
  workflow_versions: 'src/modules/workflows/workflow-store.ts',
  discovered_secrets: 'src/modules/secrets/discovered-secret-store.ts',
  oidc_login_attempts: 'src/modules/oidc/oidc-attempt-store.ts',
  ledger_accounts: 'src/modules/ledger/ledger-store.ts',
  ledger_transfers: 'src/modules/ledger/ledger-store.ts',
  ledger_entries: 'src/modules/ledger/ledger-store.ts',
  marketplace_hires: 'src/modules/marketplace/hire-store.ts',
  registry_listings: 'src/modules/registry/listing-store.ts',
  governance_epochs: 'src/modules/policies/policy-store.ts',
  argocd_endpoints: 'src/modules/gitops/argocd-endpoint-store.ts',
  gitops_app_mappings: 'src/modules/gitops/gitops-app-mapping-store.ts',
  gitops_observations: 'src/modules/gitops/gitops-observation-store.ts',
  access_requests: 'src/modules/access-requests/access-request-store.ts',
  access_request_approvals: 'src/modules/access-requests/access-request-store.ts',
  wraps: 'src/modules/wraps/wrap-store.ts',
};

describe('the shape of the house', () => {
  it('writes SQL only in a store (`*-store.ts`) or a migration', () => {
    const sql =
      /\b(SELECT\s+\d|SELECT\s[\s\S]*?\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|pg_advisory)\b/;
    const offenders = files
      .filter((file) => !file.path.endsWith('-store.ts') && !file.path.startsWith('src/db/migrations/'))
      .filter((file) => [...file.text.matchAll(/`[^`]*`|'[^'\n]*'/g)].some((literal) => sql.test(literal[0])))
      .map((file) => file.path);
    assert.deepEqual(offenders, []);
  });

  it('writes each table only from the store that owns it, and names an owner for every table the migrations create', () => {
    const migrations = files.filter((file) => file.path.startsWith('src/db/migrations/'));
    const created = new Set(
      migrations.flatMap((file) => [...file.text.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)/g)].map((match) => match[1]!)),
    );
    const kernelTables = new Set(['instance_secrets', 'rate_limit_hits', 'email_outbox', 'migrations']);
    assert.deepEqual([...created].filter((table) => !TABLE_OWNERS[table] && !kernelTables.has(table)).sort(), []);
    const strayWrites = files
      .filter((file) => file.path.endsWith('-store.ts'))
      .flatMap((file) =>
        [...file.text.matchAll(/\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/g)]
          .map((match) => match[1]!)
          .filter((table) => TABLE_OWNERS[table] !== undefined && TABLE_OWNERS[table] !== file.path)
          .map((table) => `${file.path} writes ${table}`),
      );
    assert.deepEqual(strayWrites, []);
  });

  it('keeps every line of src/ within 140 columns (the formatter cannot break a long string)', () => {
    const long = files.flatMap((file) =>
      file.text.split('\n').flatMap((line, index) => (line.length > 140 ? [`${file.path}:${index + 1} (${line.length})`] : [])),
    );
    assert.deepEqual(long, []);
  });

  it('reads the database only through typed queries (`Db.query` returns rows and a count)', () => {
    assert.deepEqual(
      files.filter((file) => /\bmanager\.query\(/.test(file.text) && file.path !== 'src/db/db.ts').map((file) => file.path),
      [],
    );
  });

  it('lets a module reach another module only through its index.ts face', () => {
    const bypasses = [...imports, ...scriptImports]
      .filter(({ from, to }) => {
        const target = moduleOf(`${to}.ts`) ?? moduleOf(`${to}/`);
        if (!to.startsWith('src/modules/') || COMPOSITION.has(`${to}.ts`)) return false;
        const source = moduleOf(from);
        if (source !== undefined && source === target) return false;
        return !isFace(to);
      })
      .map(({ from, to }) => `${from} → ${to}`);
    assert.deepEqual(bypasses, []);
  });

  it('keeps the layers below the modules ignorant of the modules and of the composition root', () => {
    const upward = imports
      .filter(({ from }) => KERNELS.some((kernel) => from.startsWith(`src/${kernel}/`)))
      .filter(({ to }) => to.startsWith('src/modules') || ['src/app', 'src/main', 'src/server'].includes(to))
      .map(({ from, to }) => `${from} → ${to}`);
    assert.deepEqual(upward, []);
  });

  it('keeps the modules ignorant of the composition root (app.ts, server.ts, main.ts)', () => {
    const upward = imports
      .filter(({ from }) => from.startsWith('src/modules/'))
      .filter(({ to }) => ['src/app', 'src/main', 'src/server', 'src/services'].includes(to))
      .map(({ from, to }) => `${from} → ${to}`);
    assert.deepEqual(upward, []);
  });

  it('keeps HTTP out of services: only handlers and faces import the binding', () => {
    const leaks = imports
      .filter(({ from }) => moduleOf(from) !== undefined && !from.includes('/handlers/') && !from.endsWith('/index.ts'))
      .filter(({ to }) => to.startsWith('src/binding/'))
      .map(({ from, to }) => `${from} → ${to}`);
    assert.deepEqual(leaks, []);
  });
});
