import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Document } from 'openapi-backend';
import { GENERATED_DIR, PROJECT_ROOT } from '../config/paths';
import { type BoundOperation, buildOperationTable, type DereferencedDocument } from './operation-table';
import type { BundledDocument } from './request-schemas';
import { GeneratedValidators, type RequestValidators, ResponseValidator } from './spec-validators';

/** A spec ready to bind: its operation table and the validators of every operation's input and output. */
export interface LoadedSpec {
  /** The bundled document (internal `$ref`s intact). */
  document: BundledDocument;
  operations: BoundOperation[];
  requestValidators: RequestValidators;
  responseValidator: ResponseValidator;
}

/** Where `npm run generate` writes the compiled binding of the published spec. */
export const COMPILED_DIR = join(GENERATED_DIR, 'binding');
const OPENAPI_SOURCES = join(PROJECT_ROOT, 'openapi');
const FILES = { table: 'operations.json', validators: 'validators' } as const;

/** The start-up error for generated code that does not belong to the spec being served. */
export class StaleSpecError extends Error {
  constructor(problem: string) {
    super(`${problem}; run \`npm run generate\` to rebuild generated/ from openapi/.`);
    this.name = 'StaleSpecError';
  }
}

interface OperationTableFile {
  spec_digest: string;
  source_digest: string;
  operations: Array<
    Omit<BoundOperation, 'arrayQueryParameters' | 'responses'> & {
      arrayQueryParameters: Array<[string, 'repeat' | 'comma']>;
      responses: Array<[string, string[]]>;
    }
  >;
}

export const specDigest = (document: BundledDocument) => createHash('sha256').update(JSON.stringify(document)).digest('hex');

/** A digest of every file under openapi/, so an edit there that generate has not seen is caught. */
export function sourceDigest(folder = OPENAPI_SOURCES): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(folder, file);
    if (!file.match(/\.(ya?ml|json|md)$/)) continue;
    hash.update(`${file}\0`).update(readFileSync(path)).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Any spec (an object, or a JSON or YAML file), checked and
 * dereferenced by openapi-backend and compiled now: `npm run generate` reads
 * the published spec this way, and tests bind fixture specs this way.
 */
export async function loadSpec(definition: object | string): Promise<LoadedSpec & { dereferenced: DereferencedDocument }> {
  // Loaded here, never on the start-up path of the published spec.
  const { OpenAPIBackend } = require('openapi-backend') as typeof import('openapi-backend');
  const { compileRequestValidators } = require('./spec-compiler') as typeof import('./spec-compiler');
  const backend = new OpenAPIBackend({
    definition: typeof definition === 'string' ? definition : (structuredClone(definition) as Document),
    strict: true,
    validate: false,
  });
  await backend.init();
  const dereferenced = backend.definition as DereferencedDocument;
  // A file (JSON or YAML) may point into other files; its dereferenced form has no references left.
  const document = (typeof definition === 'string' ? dereferenced : definition) as BundledDocument;
  return {
    document,
    dereferenced,
    operations: buildOperationTable(dereferenced),
    requestValidators: compileRequestValidators(document),
    responseValidator: new ResponseValidator(document),
  };
}

/** Writes the operation table and the standalone validators of the published spec (`npm run generate`). */
export async function writeCompiledSpec(document: BundledDocument, folder = COMPILED_DIR): Promise<void> {
  const { operations } = await loadSpec(document);
  const digest = specDigest(document);
  const table: OperationTableFile = {
    spec_digest: digest,
    source_digest: sourceDigest(),
    operations: operations.map((operation) => ({
      ...operation,
      arrayQueryParameters: [...operation.arrayQueryParameters],
      responses: [...operation.responses],
    })),
  };
  const { requestValidatorModules } = require('./spec-compiler') as typeof import('./spec-compiler');
  const validators = join(folder, FILES.validators);
  // Emptied first, so an operation that left the spec leaves no module behind.
  rmSync(validators, { recursive: true, force: true });
  mkdirSync(validators, { recursive: true });
  writeFileSync(join(folder, FILES.table), `${JSON.stringify(table, null, 1)}\n`);
  for (const [operationId, source] of requestValidatorModules(document, digest))
    writeFileSync(join(validators, `${operationId}.js`), source);
}

/**
 * The published spec as generate compiled it: no dereferencing and no Ajv compilation at start-up.
 * Refuses to start when generated/ was built from another spec, or openapi/ changed since.
 */
export function loadCompiledSpec(document: BundledDocument, folder = COMPILED_DIR, sources = OPENAPI_SOURCES): LoadedSpec {
  const tablePath = join(folder, FILES.table);
  if (!existsSync(tablePath)) throw new StaleSpecError(`${tablePath} is missing`);
  const table = JSON.parse(readFileSync(tablePath, 'utf8')) as OperationTableFile;
  if (table.spec_digest !== specDigest(document)) {
    throw new StaleSpecError(`the compiled validators in ${folder} were generated from another version of the spec`);
  }
  if (existsSync(sources) && table.source_digest !== sourceDigest(sources)) {
    throw new StaleSpecError('openapi/ has changed since generated/ was built');
  }
  const modules = new Set(readdirSync(join(folder, FILES.validators)));
  const missing = table.operations.filter(({ operationId }) => !modules.has(`${operationId}.js`));
  if (missing.length > 0) throw new StaleSpecError(`${join(folder, FILES.validators)} has no module for ${missing[0]!.operationId}`);
  const operations: BoundOperation[] = table.operations.map((operation) => ({
    ...operation,
    arrayQueryParameters: new Map(operation.arrayQueryParameters),
    responses: new Map(operation.responses),
  }));
  return {
    document,
    operations,
    requestValidators: new GeneratedValidators(join(folder, FILES.validators), table.spec_digest, (problem) => new StaleSpecError(problem)),
    responseValidator: new ResponseValidator(document),
  };
}
