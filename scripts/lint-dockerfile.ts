/**
 * Checks the Dockerfile (and its .dockerignore and compose.yaml) for the rules the image must keep,
 * where CI cannot build it (no Docker daemon): several stages; the last runs as a non-root user,
 * starts `node <npm run build's entry>`, has a HEALTHCHECK on /readyz and carries no dev
 * dependencies; base images are pinned to a tag; nothing is downloaded with ADD.
 * `npx tsx scripts/lint-dockerfile.ts`: prints each broken rule and exits 1, or exits 0.
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
function parse(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending) pending.args += ` ${line.replace(/\\$/, '').trim()}`;
    else {
      const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line.replace(/\\$/, ''))!;
      pending = { keyword: keyword!.toUpperCase(), args: args!.trim(), line: index + 1 };
    }
    if (!line.endsWith('\\')) {
      instructions.push(pending);
      pending = undefined;
    }
  });
  return instructions;
}

export function lintDockerfile(root: string): string[] {
  const problems: string[] = [];
  const instructions = parse(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const froms = instructions.filter((instruction) => instruction.keyword === 'FROM');
  if (froms.length < 2) problems.push('the build is not multi-stage: one FROM builds, another runs');
  for (const from of froms) {
    const image = from.args.split(/\s+/)[0]!;
    if (!/:[\w.-]+$|@sha256:/.test(image) || image.endsWith(':latest')) problems.push(`line ${from.line}: pin ${image} to a tag`);
  }
  const finalStage = instructions.slice(instructions.lastIndexOf(froms.at(-1)!));
  const last = (keyword: string) => finalStage.filter((instruction) => instruction.keyword === keyword).at(-1);

  const user = last('USER')?.args;
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push('the final stage must switch to a non-root USER');

  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions;
  const entry = posix.join(tsconfig.outDir, posix.relative(tsconfig.rootDir, 'src/main.js'));
  const cmd = last('CMD')?.args ?? '';
  if (cmd.replace(/\s+/g, '') !== JSON.stringify(['node', entry]).replace(/\s+/g, '')) {
    problems.push(`CMD must be ["node", "${entry}"] (the entry of npm run build, in exec form so that SIGTERM reaches Node)`);
  }
  if (!/\/readyz\b/.test(last('HEALTHCHECK')?.args ?? '')) problems.push('the final stage needs a HEALTHCHECK on /readyz');

  const runs = instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
  const prunesDev = runs.some((run) => /npm (prune|ci|install)\b[^&;]*--omit[= ]dev/.test(run));
  const installsInFinal = finalStage.some((instruction) => instruction.keyword === 'RUN' && /npm (ci|install)\b/.test(instruction.args));
  if (!prunesDev) problems.push('no stage leaves the dev dependencies out (npm prune --omit=dev or npm ci --omit=dev)');
  if (installsInFinal && !finalStage.some((instruction) => /--omit[= ]dev/.test(instruction.args))) {
    problems.push('the final stage installs packages with their dev dependencies');
  }
  for (const add of instructions.filter((instruction) => instruction.keyword === 'ADD')) {
    if (/https?:\/\//.test(add.args)) problems.push(`line ${add.line}: ADD downloads at build time; fetch with a checked RUN instead`);
  }

  const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim());
  for (const path of ['.git', 'node_modules', '.data', 'dist']) {
    if (!ignored.includes(path)) problems.push(`.dockerignore must leave out ${path}`);
  }
  const compose = readFileSync(join(root, 'compose.yaml'), 'utf8');
  if (!/^\s+build: \.$/m.test(compose) || !/DATABASE_URL: postgres:\/\//.test(compose) || !/image: postgres:/.test(compose)) {
    problems.push('compose.yaml must build this Dockerfile and run it on its PostgreSQL service (DATABASE_URL)');
  }
  return problems;
}

if (require.main === module) {
  const problems = lintDockerfile(PROJECT_ROOT);
  for (const problem of problems) console.error(`Dockerfile: ${problem}`);
  if (problems.length === 0)
    console.log('Dockerfile: multi-stage, non-root, node dist/src/main.js, HEALTHCHECK /readyz, no dev dependencies');
  process.exit(problems.length === 0 ? 0 : 1);
}
