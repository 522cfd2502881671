/**
 * `npm test`: every test file under test/ in parallel processes (node:test), each on a database
 * of its own, then the contract coverage check: every operation in the published spec must
 * have been exercised by some test, and documented statuses never observed are listed.
 * `npm test -- test/some.test.ts` runs just those files and only reports coverage.
 * WARDEN_TEST_SKIP (comma-separated paths under the repository) leaves files out of a whole run;
 * the coverage check still applies to what remains. WARDEN_TEST_CONCURRENCY overrides how many
 * files run at once.
 */
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { loadCompiledSpec } from '../src/binding/loaded-spec';
import { PROJECT_ROOT } from '../src/config/paths';
import type { CoverageRecord } from '../test/support/contract-checker';

/**
 * The files that take a minute or more, slowest first: they start at once and the many short files
 * fill the other slots around them, instead of one starting late and running alone at the end.
 * (node:test's command line sorts the files it is given; its run() keeps their order.)
 */
const SLOW_FIRST = ['test/docs-browser.test.ts', 'test/cli.test.ts', 'test/process.test.ts', 'test/access-requests.test.ts'];

const requested = process.argv.slice(2);
const files = requested.length > 0 ? requested : wholeRun(findTestFiles(join(PROJECT_ROOT, 'test')));
// Most files spend their time waiting on PostgreSQL, child processes and timers, not on the CPU: with one
// file per core, a whole run's test processes used about 410 CPU-seconds in 480 s on the 2-core CI machine.
// At least 4 at once; no more than one per core on bigger machines, whose PostgreSQL has 100 connections.
const concurrency = Number(process.env.WARDEN_TEST_CONCURRENCY) || Math.max(4, availableParallelism());
const workDir = mkdtempSync(join(tmpdir(), 'warden-test-'));
const tapFile = join(workDir, 'results.tap');

/**
 * Runs the files, each in a process of its own started with this process's Node flags (tsx's
 * loader), printing the spec reporter's output and writing TAP to `tapFile`. True when any failed.
 */
async function runFiles(): Promise<boolean> {
  process.chdir(PROJECT_ROOT);
  process.env.WARDEN_COVERAGE_DIR = workDir;
  let anyFailed = false;
  const stream = run({ files: files.map((file) => join(PROJECT_ROOT, file)), concurrency });
  stream.on('test:fail', () => {
    anyFailed = true;
  });
  const toSpec = new PassThrough({ objectMode: true });
  const toTap = new PassThrough({ objectMode: true });
  stream.pipe(toSpec);
  stream.pipe(toTap);
  const printed = (async () => {
    for await (const chunk of toSpec.compose(new spec())) process.stdout.write(chunk);
  })();
  await Promise.all([printed, pipeline(toTap.compose(tap), createWriteStream(tapFile))]);
  return anyFailed;
}

/** Counts the runner's results, adds the coverage check, and ends on a `N passed, N failed` line. */
async function report(anyFailed: boolean): Promise<number> {
  const tapText = readFileSync(tapFile, 'utf8');
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tapText)?.[1] ?? 0);
  let passed = count('pass');
  let failed = count('fail') + count('cancelled');
  if (anyFailed && failed === 0) failed = 1; // e.g. a file that did not load

  const coverage = await checkCoverage(workDir);
  console.log('\nContract coverage');
  console.log(`  operations exercised: ${coverage.exercised}/${coverage.total}`);
  for (const operationId of coverage.unexercised) console.log(`  ✖ operation ${operationId} is not exercised by any test`);
  if (coverage.unobserved.length > 0) {
    console.log(`  documented statuses never observed (${coverage.unobserved.length}):`);
    for (const line of coverage.unobserved) console.log(`    - ${line}`);
  }
  if (requested.length === 0) {
    if (coverage.unexercised.length === 0) passed += 1;
    else failed += 1;
  }
  rmSync(workDir, { recursive: true, force: true });

  console.log(`\ntests: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

// Should the run stall with nothing left to wait for, Node exits; then with a failure, not a pass.
process.exitCode = 1;
runFiles()
  .then(report)
  .then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );

function findTestFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => relative(PROJECT_ROOT, join(folder, file)))
    .sort();
}

/** Every file but the skipped ones, the slow ones first. */
function wholeRun(found: string[]): string[] {
  const skipped = (process.env.WARDEN_TEST_SKIP ?? '').split(',').filter(Boolean);
  // A misspelt path would otherwise skip nothing, silently.
  const unknown = skipped.filter((file) => !found.includes(file));
  if (unknown.length > 0) throw new Error(`WARDEN_TEST_SKIP names no test file: ${unknown.join(', ')}`);
  const kept = found.filter((file) => !skipped.includes(file));
  return [...SLOW_FIRST.filter((file) => kept.includes(file)), ...kept.filter((file) => !SLOW_FIRST.includes(file))];
}

async function checkCoverage(recordsDir: string) {
  const { operations } = loadCompiledSpec(JSON.parse(readFileSync(join(PROJECT_ROOT, 'generated/openapi.json'), 'utf8')));
  const documented = new Map(operations.map((operation) => [operation.operationId, [...operation.responses.keys()]]));
  const observed = new Map<string, Set<string>>();
  for (const file of readdirSync(recordsDir).filter((name) => name.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(recordsDir, file), 'utf8').split('\n').filter(Boolean)) {
      const { operationId, status } = JSON.parse(line) as CoverageRecord;
      if (!observed.has(operationId)) observed.set(operationId, new Set());
      observed.get(operationId)!.add(String(status));
    }
  }
  const unexercised = [...documented.keys()].filter((operationId) => !observed.has(operationId)).sort();
  const unobserved = [...documented]
    .flatMap(([operationId, statuses]) =>
      statuses.filter((status) => !observed.get(operationId)?.has(status)).map((status) => `${operationId} ${status}`),
    )
    .sort();
  return { total: documented.size, exercised: documented.size - unexercised.length, unexercised, unobserved };
}
