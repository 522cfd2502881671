/**
 * `npm start`: runs src/main.ts as one CommonJS file that esbuild bundles from src/ (packages stay
 * external) into node_modules/.cache/warden/. Loading through the tsx hooks costs seconds of
 * start-up on every start, mostly in node_modules; this costs one build after a source changes.
 * The bundle is rebuilt when any file it was built from has changed, appeared or gone.
 * Plain JavaScript, so that nothing has to be compiled before it runs.
 */
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
// The bench starts its servers the same way: `node scripts/start.js <entry.ts> [args…]`; the entry
// sees its own arguments from process.argv[2] on, as if it had been started directly.
const entry = process.argv[2] ?? 'src/main.ts';
process.argv.splice(2, 1);
const cacheDir = join(root, 'node_modules/.cache/warden');
// Named after the checkout too: checkouts that share one node_modules (git worktrees) never load each other's bundle.
const checkout = createHash('sha256').update(root).digest('hex').slice(0, 12);
const bundle = join(cacheDir, `${checkout}-${entry.replace(/[/\\.]/g, '_')}.js`);
const manifestPath = `${bundle}.inputs.json`;

/** size and mtime of a file, or null when it is gone */
function fingerprint(file) {
  try {
    const stat = statSync(join(root, file));
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return null;
  }
}

function isFresh() {
  if (!existsSync(bundle) || !existsSync(manifestPath)) return false;
  const { builtIn, inputs } = JSON.parse(readFileSync(manifestPath, 'utf8'));
  return builtIn === root && Object.entries(inputs).every(([file, seen]) => fingerprint(file) === seen);
}

function build() {
  const esbuild = require('esbuild');
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outfile: `${bundle}.${process.pid}`,
    metafile: true,
    logLevel: 'warning',
    // The bundle runs from the cache, but finds the project (generated/, the favicon) from src/ as tsx does.
    define: { __dirname: JSON.stringify(join(root, 'src/config')) },
  });
  // The tsconfig and package.json shape the build too; a new import changes its importer.
  const inputs = [...Object.keys(result.metafile.inputs), 'tsconfig.json', 'package.json'];
  // Renamed into place, so a process starting beside this one never reads half a file.
  renameSync(`${bundle}.${process.pid}`, bundle);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(
    `${manifestPath}.${process.pid}`,
    JSON.stringify({ builtIn: root, inputs: Object.fromEntries(inputs.map((file) => [file, fingerprint(file)])) }),
  );
  renameSync(`${manifestPath}.${process.pid}`, manifestPath);
}

if (!isFresh()) build();
require(bundle);
