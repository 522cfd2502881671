#!/usr/bin/env node
// A checkout runs the TypeScript sources (no stale build); an installed package ships only dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/main.ts', import.meta.url);
if (existsSync(source)) {
  // The repository's tsconfig maps @warden/sdk to its sources too.
  process.env.TSX_TSCONFIG_PATH ??= fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));
  await import('tsx');
  await import(source.href);
} else {
  await import(new URL('../dist/main.js', import.meta.url).href);
}
