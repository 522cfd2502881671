/**
 * Rebuilds everything in generated/ from openapi/: the bundled spec (JSON and YAML, with code
 * samples on every operation and the error-code and plan tables in its introduction), the
 * TypeScript types, the docs portal, and the binding's operation table and request validators
 * as standalone Ajv code. CI runs this and fails when generated/ changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PERMISSION_CATALOG } from '../src/auth/permissions';
import { PLANS } from '../src/auth/plans';
import { writeCompiledSpec } from '../src/binding/loaded-spec';
import { addCodeSamples, type Spec } from './code-samples';
import { errorCodeSection, planSection, showOperationIds } from './docs-sections';

const root = resolve(__dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (name: string, args: string[]) => execFileSync(bin(name), args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

mkdirSync(join(root, 'generated/docs'), { recursive: true });

run('redocly', ['bundle', 'openapi/openapi.yaml', '--output', 'generated/openapi.json']);
const jsonPath = join(root, 'generated/openapi.json');
const bundle = JSON.parse(readFileSync(jsonPath, 'utf8'));
showOperationIds(bundle.paths);
documentApiKeyRateLimit(bundle);
addCodeSamples(bundle as Spec, new Set(PERMISSION_CATALOG.filter((p) => p.scope === 'platform').map((p) => p.name)));
bundle.info.description = [bundle.info.description.trimEnd(), errorCodeSection(bundle.components.schemas.ErrorCode), planSection(PLANS)]
  .join('\n\n')
  .concat('\n');
// Pretty-printed so reviews of generated/ show readable diffs; the YAML is the same document.
writeFileSync(jsonPath, `${JSON.stringify(bundle, null, 2)}\n`);
run('redocly', ['bundle', 'generated/openapi.json', '--output', 'generated/openapi.yaml']);
// The portal's options (extensions shown, the code-sample languages) are in redocly.yaml under `openapi`.
run('redocly', ['build-docs', 'generated/openapi.json', '--output', 'generated/docs/index.html', '--inlineBundle']);

async function generateTypes(): Promise<void> {
  // openapi-typescript is ESM-only; its CLI would also read redocly.yaml's `apis` and
  // type the split sources instead of the bundle, so its Node API is used on the bundle.
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(new URL(`file://${join(root, 'generated/openapi.json')}`), { alphabetize: true });
  const banner = '/** Generated from openapi/ by `npm run generate`. Do not edit. */\n';
  writeFileSync(join(root, 'generated/api.d.ts'), banner + astToString(ast));
}

/**
 * The portal must load nothing from other hosts: Redoc's "API docs by Redocly" badge fetches its
 * logo from cdn.redoc.ly, so that image gets an empty data URL (its onError handler then hides
 * it), and the page's icon is Warden's own `/favicon.ico`. Fails loudly when a Redocly upgrade
 * changes either spot, rather than shipping a page that calls out again.
 */
function selfContainedDocs(html: string): string {
  const logo = /https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg/g;
  if (!logo.test(html) || !html.includes('</title>'))
    throw new Error('generate: the docs page no longer has the expected Redocly logo or <title>');
  return html.replace(logo, 'data:,').replace('</title>', '</title>\n  <link rel="icon" href="/favicon.ico" type="image/x-icon" />');
}
const docsPath = join(root, 'generated/docs/index.html');
writeFileSync(docsPath, selfContainedDocs(readFileSync(docsPath, 'utf8')));

// The binding's operation table and standalone validators: start-up loads them instead of compiling.
Promise.all([generateTypes(), writeCompiledSpec(JSON.parse(readFileSync(jsonPath, 'utf8')))]).then(
  () => console.log('generated/: openapi.json, openapi.yaml, api.d.ts, docs/index.html, binding/ (operation table, validators)'),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/**
 * Every answer to an API key counts against the key's per-minute budget (RateLimit-Policy "api-key"),
 * so every operation an API key may call can answer 429: said once here rather than in each path file.
 */
function documentApiKeyRateLimit(spec: {
  security?: Array<Record<string, unknown>>;
  paths: Record<string, Record<string, { security?: Array<Record<string, unknown>>; responses?: Record<string, unknown> }>>;
}): void {
  for (const item of Object.values(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method) || !operation.responses) continue;
      const security = operation.security ?? spec.security ?? [];
      if (!security.some((requirement) => 'ApiKeyAuth' in requirement) || operation.responses['429']) continue;
      operation.responses['429'] = { $ref: '#/components/responses/TooManyRequests' };
    }
  }
}
