/**
 * The code samples `npm run generate` puts on every operation (scripts/code-samples.ts) are
 * programs, so they are checked as programs: the TypeScript type-checks against the spec's types
 * through the SDK's surface, the Python parses, the curl is valid shell, and each sends the
 * credential its operation's security asks for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ts from 'typescript';
import publishedSpec from '../generated/openapi.json';
import type { CodeSample } from '../scripts/code-samples';
import { PROJECT_ROOT } from '../src/config/paths';

interface Operation {
  operationId: string;
  security?: Array<Record<string, string[]>>;
  'x-codeSamples': CodeSample[];
}
const spec = publishedSpec as unknown as {
  security: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, Operation>>;
};
const operations = Object.values(spec.paths)
  .flatMap((item) => Object.values(item))
  .filter((operation) => operation.operationId);
const sample = (operation: Operation, label: string) => operation['x-codeSamples'].find((s) => s.label === label)!.source;

// Under the project so that module resolution finds its node_modules; git ignores test-output/.
const folder = join(PROJECT_ROOT, 'test-output', `code-samples-${process.pid}`);
mkdirSync(folder, { recursive: true });
after(() => rmSync(folder, { recursive: true, force: true }));

describe('the generated code samples', () => {
  it('are on every operation: curl, TypeScript, Python', () => {
    for (const operation of operations) {
      assert.deepEqual(
        operation['x-codeSamples']?.map((s) => s.label),
        ['curl', 'TypeScript', 'Python'],
        operation.operationId,
      );
      assert.doesNotMatch(sample(operation, 'curl'), /\{[a-z_]+\}/, `${operation.operationId}: a path parameter left unfilled`);
    }
  });

  it("send the credential of the operation's security, and none where it needs none", () => {
    const headerOf: Record<string, RegExp> = {
      ApiKeyAuth: /-H "X-API-Key: \$WARDEN_API_KEY"|-H "Authorization: Bearer \$WARDEN_ADMIN_SESSION"/,
      AgentSecret: /-H "X-Agent-Secret: \$WARDEN_AGENT_SECRET"/,
      RuntimeToken: /-H "Authorization: Bearer \$WARDEN_RUNTIME_TOKEN"/,
      GatewayKey: /-H "Authorization: Bearer \$WARDEN_GATEWAY_KEY"/,
    };
    for (const operation of operations) {
      const scheme = Object.keys((operation.security ?? spec.security)[0] ?? {})[0];
      const curl = sample(operation, 'curl');
      if (!scheme) assert.doesNotMatch(curl, /X-API-Key|Authorization|X-Agent-Secret/, operation.operationId);
      else if (headerOf[scheme]) assert.match(curl, headerOf[scheme], operation.operationId);
    }
    const register = spec.paths['/api/v1/agents/register']!.post!;
    assert.match(sample(register, 'curl'), /-d '\{"sekuire_id":"[0-9a-f]{64}"/, 'the request example is the body');
    assert.match(sample(spec.paths['/api/v1/orgs/{org_id}/plan']!.put!, 'curl'), /Bearer \$WARDEN_ADMIN_SESSION/, 'platform operations');
  });

  it('curl: every sample is valid shell', () => {
    for (const operation of operations) {
      const check = spawnSync('bash', ['-n', '-c', sample(operation, 'curl')], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${operation.operationId}: ${check.stderr}`);
    }
  });

  it('TypeScript: every sample type-checks against the spec through the SDK surface (createWardenClient over openapi-fetch)', () => {
    // The surface clients.md fixes for @warden/sdk: an openapi-fetch client typed by generated/api.d.ts.
    const sdk = join(folder, 'warden-sdk.d.ts');
    writeFileSync(
      sdk,
      [
        "import type { Client } from 'openapi-fetch';",
        `import type { paths } from ${JSON.stringify(join(PROJECT_ROOT, 'generated/api'))};`,
        'export declare function createWardenClient(options: {',
        '  baseUrl: string; apiKey?: string; token?: string; agentSecret?: string; device?: string;',
        '}): Client<paths>;',
      ].join('\n'),
    );
    const files = operations.map((operation) => {
      const file = join(folder, `${operation.operationId}.ts`);
      writeFileSync(file, `${sample(operation, 'TypeScript')}\nexport {};\n`);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(PROJECT_ROOT, 'node_modules/@types')],
      baseUrl: folder,
      paths: { '@warden/sdk': [sdk] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    assert.deepEqual(problems, []);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  it('Python: every sample parses', { skip: !python && 'no python3 on this machine' }, () => {
    const files = operations.map((operation) => {
      const file = join(folder, `${operation.operationId}.py`);
      writeFileSync(file, sample(operation, 'Python'));
      return file;
    });
    const check = spawnSync('python3', ['-c', 'import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)', ...files], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr);
  });
});
