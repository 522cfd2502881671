import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lintDockerfile } from '../../scripts/lint-dockerfile';
import { PROJECT_ROOT } from '../../src/config/paths';

const DOCKERFILE = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** The repository's Dockerfile with one edit, beside copies of the files the lint also reads. */
function lintWith(edit: (dockerfile: string) => string): string[] {
  const folder = mkdtempSync(join(tmpdir(), 'warden-dockerfile-'));
  folders.push(folder);
  for (const file of ['tsconfig.json', '.dockerignore', 'compose.yaml']) cpSync(join(PROJECT_ROOT, file), join(folder, file));
  writeFileSync(join(folder, 'Dockerfile'), edit(DOCKERFILE));
  return lintDockerfile(folder);
}

describe("the Dockerfile's rules (scripts/lint-dockerfile.ts)", () => {
  it("hold for the repository's Dockerfile", () => {
    assert.deepEqual(
      lintWith((dockerfile) => dockerfile),
      [],
    );
  });

  const CASES: Array<[string, (dockerfile: string) => string, RegExp]> = [
    ['one stage', (d) => d.replace(/^FROM node:22-bookworm-slim AS build$/m, '# one stage'), /multi-stage/],
    ['running as root', (d) => d.replace(/^USER node$/m, 'USER root'), /non-root USER/],
    ['no USER', (d) => d.replace(/^USER node$/m, ''), /non-root USER/],
    ['another entry point', (d) => d.replace('"dist/src/main.js"', '"src/main.ts"'), /CMD must be \["node", "dist\/src\/main\.js"\]/],
    ['shell-form CMD', (d) => d.replace('CMD ["node", "dist/src/main.js"]', 'CMD node dist/src/main.js'), /exec form/],
    ['no HEALTHCHECK', (d) => d.replace(/^HEALTHCHECK[\s\S]*?\n(?=CMD \[)/m, ''), /HEALTHCHECK on \/readyz/],
    ['health on /healthz', (d) => d.replace("'/readyz'", "'/healthz'"), /HEALTHCHECK on \/readyz/],
    ['dev dependencies kept', (d) => d.replace(/ \\\n && npm prune --omit=dev --no-audit --no-fund/, ''), /dev dependencies/],
    ['an unpinned base image', (d) => d.replace(/^FROM node:22-bookworm-slim$/m, 'FROM node'), /pin node to a tag/],
    ['ADD from the network', (d) => `${d}\nADD https://example.com/tool /usr/local/bin/tool\n`, /ADD downloads/],
  ];
  for (const [name, edit, problem] of CASES) {
    it(`refuse ${name}`, () => {
      assert.notEqual(edit(DOCKERFILE), DOCKERFILE, `${name}: the edit applies`);
      const problems = lintWith(edit);
      assert.ok(
        problems.some((p) => problem.test(p)),
        `${name}: ${JSON.stringify(problems)}`,
      );
    });
  }
});
