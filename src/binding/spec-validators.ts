import { join } from 'node:path';
import type Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { type BundledDocument, type OperationSchemas, operationSchemas } from './request-schemas';

/** An operation's request validators: its parameters (coerced from strings) and its JSON body. */
export interface OperationValidators {
  parameters: ValidateFunction;
  body?: ValidateFunction;
}
/** By operationId; generated validators are loaded on an operation's first request. */
export interface RequestValidators {
  get(operationId: string): OperationValidators | undefined;
}

/**
 * The generated modules of generated/binding/validators, each required on its operation's first
 * request. A module from another version of the spec fails that request (and says why in the log).
 */
export class GeneratedValidators implements RequestValidators {
  private readonly loaded = new Map<string, OperationValidators>();

  constructor(
    private readonly folder: string,
    private readonly specDigest: string,
    private readonly stale: (problem: string) => Error,
  ) {}

  get(operationId: string): OperationValidators | undefined {
    let validators = this.loaded.get(operationId);
    if (!validators) {
      const path = join(this.folder, `${operationId}.js`);
      const factory = require(path) as (load: NodeJS.Require) => OperationValidators & { specDigest: string };
      const { specDigest, ...loaded } = factory(require);
      if (specDigest !== this.specDigest) throw this.stale(`${path} belongs to another version of the spec`);
      validators = loaded;
      this.loaded.set(operationId, validators);
    }
    return validators;
  }
}

/**
 * Checks a JSON response body against the schema documented for its status (exact, then `4XX`,
 * then `default`). Only development and the tests check responses, so each schema is compiled on
 * its first use, never at start-up.
 */
export class ResponseValidator {
  private ajv: Ajv | undefined;
  private schemas: Map<string, OperationSchemas['responses']> | undefined;
  private readonly compiled = new Map<string, ValidateFunction | null>();

  constructor(private readonly document: BundledDocument) {}

  validate(operationId: string, status: number, body: unknown): { valid: boolean; errors: unknown[] } {
    const key = `${operationId} ${status}`;
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      validate = this.compile(operationId, status);
      this.compiled.set(key, validate);
    }
    if (validate === null || validate(body)) return { valid: true, errors: [] };
    return { valid: false, errors: validate.errors ?? [] };
  }

  private compile(operationId: string, status: number): ValidateFunction | null {
    this.schemas ??= new Map(operationSchemas(this.document).map((operation) => [operation.operationId, operation.responses]));
    const responses = this.schemas.get(operationId);
    if (!responses) throw new Error(`Unknown operation ${operationId}`);
    const schema = responses[String(status)] ?? responses[`${Math.floor(status / 100)}XX`] ?? responses.default;
    if (!schema) return null;
    // Required on first use: Ajv's compiler is not loaded at start-up.
    const { specAjv } = require('./spec-compiler') as typeof import('./spec-compiler');
    this.ajv ??= specAjv(this.document, 'response');
    return this.ajv.compile(schema);
  }
}
