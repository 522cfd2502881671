import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import publishedSpec from '../generated/openapi.json';
import { COMPILED_DIR, type LoadedSpec, loadCompiledSpec, loadSpec, StaleSpecError, writeCompiledSpec } from '../src/binding/loaded-spec';
import { PROJECT_ROOT } from '../src/config/paths';
import { loadContractDocuments } from '../src/modules/system';
import { startTestApp } from './support/test-app';

/**
 * The published spec is bound from generated/binding/ (standalone validators and the operation
 * table that `npm run generate` writes), never compiled at start-up; any other spec is compiled
 * on the fly. Both must judge every request alike, and stale generated code must stop start-up.
 */
describe('the published spec starts from code compiled at generate time', () => {
  let compiled: LoadedSpec;
  let onTheFly: LoadedSpec;
  before(async () => {
    compiled = loadCompiledSpec(publishedSpec);
    onTheFly = await loadSpec(publishedSpec);
  });

  it('gives the same operation table as reading the spec now', () => {
    assert.deepEqual(compiled.operations, onTheFly.operations);
    assert.ok(compiled.operations.length >= 78);
  });

  it('judges every operation’s parameters and body exactly as validators compiled now do', () => {
    const samples: Array<Record<string, unknown>> = [
      { path: {}, query: {}, header: {}, cookie: {} },
      { path: { org_id: 'org_x', id: '\u0000' }, query: { limit: '0', cursor: 7, unknown: 'x' }, header: {}, cookie: {} },
      { path: {}, query: { limit: '20' }, header: {}, cookie: {}, requestBody: { name: '', permissions: 'x', extra: true } },
      { path: {}, query: {}, header: {}, cookie: {}, requestBody: [] },
    ];
    let judged = 0;
    for (const { operationId } of compiled.operations) {
      const generated = compiled.requestValidators.get(operationId)!;
      const fresh = onTheFly.requestValidators.get(operationId)!;
      assert.equal(Boolean(generated.body), Boolean(fresh.body), `${operationId}: both have a body validator or neither`);
      for (const sample of samples) {
        for (const kind of ['parameters', 'body'] as const) {
          const [a, b] = [generated[kind], fresh[kind]];
          if (!a || !b) continue;
          const [left, right] = [structuredClone(sample), structuredClone(sample)];
          assert.equal(a(left), b(right), `${operationId} ${kind}: same verdict`);
          assert.deepEqual(a.errors ?? null, b.errors ?? null, `${operationId} ${kind}: same errors`);
          assert.deepEqual(left, right, `${operationId} ${kind}: same coercions and defaults`);
          judged++;
        }
      }
    }
    assert.ok(judged > 300, `judged ${judged}`);
  });

  it('a spec that is not the one generate compiled is refused at start-up, saying to run npm run generate', async () => {
    const edited = structuredClone(publishedSpec);
    edited.info.version = '99.0.0';
    assert.throws(
      () => loadCompiledSpec(edited),
      (error: unknown) => {
        assert.ok(error instanceof StaleSpecError);
        assert.match(error.message, /generated from another version of the spec; run `npm run generate`/);
        return true;
      },
    );
    const contract = { ...loadContractDocuments(), json: edited };
    await assert.rejects(startTestApp({ contract }), StaleSpecError);
  });

  describe('against a copy of generated/binding and openapi/', () => {
    let folder: string;
    let sources: string;
    before(async () => {
      folder = mkdtempSync(join(tmpdir(), 'warden-compiled-'));
      sources = join(folder, 'openapi');
      cpSync(join(PROJECT_ROOT, 'openapi'), sources, { recursive: true });
      await writeCompiledSpec(publishedSpec, join(folder, 'binding'));
    });
    after(() => rmSync(folder, { recursive: true, force: true }));

    it('an edit under openapi/ that generate has not seen is refused', () => {
      assert.doesNotThrow(() => loadCompiledSpec(publishedSpec, join(folder, 'binding'), sources));
      appendFileSync(join(sources, 'openapi.yaml'), '\n# edited\n');
      assert.throws(
        () => loadCompiledSpec(publishedSpec, join(folder, 'binding'), sources),
        /openapi\/ has changed since generated\/ was built/,
      );
    });
    it('generate writes exactly what generated/binding holds (deterministic output), one validator module per operation', () => {
      const files = (folder: string) => readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort();
      const written = files(join(folder, 'binding'));
      assert.deepEqual(written, files(COMPILED_DIR));
      assert.equal(written.filter((file) => file.startsWith('validators/')).length, compiled.operations.length);
      for (const file of written.filter((name) => name.includes('.'))) {
        assert.equal(readFileSync(join(folder, 'binding', file), 'utf8'), readFileSync(join(COMPILED_DIR, file), 'utf8'), file);
      }
    });

    it('a validator module of another spec version fails its operation; a missing one stops start-up', () => {
      const module = join(folder, 'binding/validators/listAgents.js');
      writeFileSync(module, readFileSync(module, 'utf8').replace(/specDigest: "[0-9a-f]+"/, 'specDigest: "0"'));
      const spec = loadCompiledSpec(publishedSpec, join(folder, 'binding'));
      assert.ok(spec.requestValidators.get('getAgent'));
      assert.throws(() => spec.requestValidators.get('listAgents'), StaleSpecError);
      rmSync(module);
      assert.throws(() => loadCompiledSpec(publishedSpec, join(folder, 'binding')), /has no module for listAgents/);
    });
  });
});
