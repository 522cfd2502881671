/**
 * `npm start`: runs src/main.ts as one CommonJS file that esbuild bundles from src/ (packages stay
 * external) into node_modules/.cache/warden/. Loading through the tsx hooks costs seconds of
 * start-up on every start, mostly in node_modules; this costs one build after a source changes.
 * The bundle is rebuilt when any file it was built from has changed, appeared or gone.
 * Plain JavaScript, so that nothing has to be compiled before it runs.
 *
 * The bundle and the packages it requires are compiled from V8's code cache (see useCompileCache),
 * not parsed and compiled anew on every start.
 */
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join, resolve } = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

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

/**
 * Compiles CommonJS modules with the code V8 cached for them on an earlier start. Node 22.1+ does
 * this itself (module.enableCompileCache); on Node 20 it is done here, as the v8-compile-cache
 * package did: Module.prototype._compile compiles through vm.Script with cachedData. A module is
 * looked up by its path and the hash of its source, so an edited file is compiled anew (V8 itself
 * checks only the source's length). Returns what saves the modules compiled without a usable
 * cache; they are saved again five seconds after the last of them (with the functions that
 * start-up ran compiled by then), and at exit.
 */
function useCompileCache() {
  mkdirSync(cacheDir, { recursive: true });
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(join(cacheDir, 'v8'));
    return () => Module.flushCompileCache?.();
  }
  const file = join(cacheDir, `${checkout}-compile-cache-${process.version}-${process.arch}.bin`);
  /** @type {Map<string, { hash: string, data: Buffer }>} */
  let cached = new Map();
  try {
    cached = v8.deserialize(readFileSync(file));
  } catch {}
  /** @type {Map<string, { hash: string, script: vm.Script }>} */
  const uncached = new Map();
  let saveTimer;
  const save = () => {
    if (uncached.size === 0) return;
    for (const [filename, { hash, script }] of uncached) cached.set(filename, { hash, data: script.createCachedData() });
    for (const filename of cached.keys()) if (!existsSync(filename)) cached.delete(filename);
    try {
      // Renamed into place: processes starting together each write a whole file, and the last one stays.
      writeFileSync(`${file}.${process.pid}`, v8.serialize(cached));
      renameSync(`${file}.${process.pid}`, file);
    } catch {}
  };
  process.once('exit', save);
  const saveLater = () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      save();
      uncached.clear();
    }, 5_000).unref();
  };
  const nodeCompile = Module.prototype._compile;
  Module.prototype._compile = function compile(content, filename, format) {
    // ES modules (require(esm)) are Node's to load; so is a module that may call import(), whose
    // callback Node 20's V8 does not restore to a script compiled from the cache.
    if (format === 'module' || /\bimport\s*\(/.test(content)) return Reflect.apply(nodeCompile, this, [content, filename, format]);
    const hash = createHash('sha1').update(content).digest('base64');
    const entry = cached.get(filename);
    let script;
    try {
      script = new vm.Script(Module.wrap(content.replace(/^#!.*/, '')), {
        filename,
        cachedData: entry?.hash === hash ? entry.data : undefined,
      });
    } catch {
      // A .js file without a package type may be an ES module; Node tells by its syntax.
      return Reflect.apply(nodeCompile, this, [content, filename, format]);
    }
    if (entry?.hash !== hash || script.cachedDataRejected) {
      uncached.set(filename, { hash, script });
      saveLater();
    }
    const wrapper = script.runInThisContext({ displayErrors: true });
    return Reflect.apply(wrapper, this.exports, [this.exports, requireFrom(this), this, filename, dirname(filename)]);
  };
  return save;
}

/** The `require` a module sees, as Node makes it. */
function requireFrom(module) {
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

const saveCompileCache = useCompileCache();
if (!isFresh()) build();
require(bundle);
// Saved now too, not only later: a process stopped as soon as it answers (the bench's) still leaves it.
saveCompileCache();
