/**
 * Rebuilds everything in generated/ from openapi/: the bundled spec (JSON and YAML), the
 * TypeScript types and the docs portal. CI runs this and fails when generated/ changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (name: string, args: string[]) =>
  execFileSync(bin(name), args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

mkdirSync(join(root, 'generated/docs'), { recursive: true });

run('redocly', ['bundle', 'openapi/openapi.yaml', '--output', 'generated/openapi.json']);
run('redocly', ['bundle', 'openapi/openapi.yaml', '--output', 'generated/openapi.yaml']);
run('redocly', [
  'build-docs',
  'generated/openapi.json',
  '--output',
  'generated/docs/index.html',
  '--inlineBundle',
  '--openapi.showExtensions=true',
  '--openapi.hideDownloadButtons=false',
]);

async function generateTypes(): Promise<void> {
  // openapi-typescript is ESM-only; its CLI would also read redocly.yaml's `apis` and
  // type the split sources instead of the bundle, so its Node API is used on the bundle.
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(new URL(`file://${join(root, 'generated/openapi.json')}`), { alphabetize: true });
  const banner = '/** Generated from openapi/ by `npm run generate`. Do not edit. */\n';
  writeFileSync(join(root, 'generated/api.d.ts'), banner + astToString(ast));
}

// Pretty-print the bundle so reviews of generated/ show readable diffs.
const jsonPath = join(root, 'generated/openapi.json');
writeFileSync(jsonPath, `${JSON.stringify(JSON.parse(readFileSync(jsonPath, 'utf8')), null, 2)}\n`);
generateTypes().then(
  () => console.log('generated/: openapi.json, openapi.yaml, api.d.ts, docs/index.html'),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
