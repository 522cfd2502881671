import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { PROJECT_ROOT } from '../src/config/paths';

interface CodeSample {
  lang: string;
  source: string;
}

describe("the docs' TypeScript code samples", () => {
  it('compile against @warden/sdk: every operation’s sample calls the SDK as it really is', () => {
    const spec = JSON.parse(readFileSync(join(PROJECT_ROOT, 'generated/openapi.json'), 'utf8'));
    const samples: string[] = [];
    for (const item of Object.values<Record<string, { operationId: string; 'x-codeSamples'?: CodeSample[] }>>(spec.paths)) {
      for (const operation of Object.values(item)) {
        const sample = operation['x-codeSamples']?.find((candidate) => candidate.lang === 'TypeScript');
        if (!sample) continue;
        // Each sample is a module of its own; here each becomes a function, under one import.
        const body = sample.source
          .split('\n')
          .filter((line) => !line.startsWith('import '))
          .join('\n');
        samples.push(`// ${operation.operationId}\nexport async function sample${samples.length}() {\n${body}\n}\n`);
      }
    }
    assert.ok(samples.length >= 100, `${samples.length} samples`);

    const dir = mkdtempSync(join(tmpdir(), 'warden-samples-'));
    try {
      const file = join(dir, 'samples.ts');
      writeFileSync(file, `import { createWardenClient } from '@warden/sdk';\n${samples.join('\n')}`);
      const config = ts.getParsedCommandLineOfConfigFile(
        join(PROJECT_ROOT, 'tsconfig.json'),
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: (diagnostic) => assert.fail(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')),
        },
      );
      const program = ts.createProgram([file], { ...config!.options, noEmit: true, rootDir: undefined });
      const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
        const where = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        const line = where && diagnostic.file?.text.split('\n')[where.line];
        return `${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}\n    at: ${line?.trim()}`;
      });
      assert.deepEqual(errors, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
