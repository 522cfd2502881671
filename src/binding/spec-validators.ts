import Ajv, { type Options, type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import addFormats from 'ajv-formats';
import { type BundledDocument, type OperationSchemas, operationSchemas, SPEC_SCHEMA_ID, specSchema } from './request-schemas';

/** An operation's request validators: its parameters (coerced from strings) and its JSON body. */
export interface OperationValidators {
  parameters: ValidateFunction;
  body?: ValidateFunction;
}
export type RequestValidators = ReadonlyMap<string, OperationValidators>;

/** The Ajv settings every Warden validator is compiled with, at generate time and on the fly alike. */
function specAjv(document: BundledDocument, input: 'parameters' | 'body' | 'response', source = false): Ajv {
  const options: Options = {
    allErrors: true,
    strict: false,
    // Request input gets its documented defaults; a response is checked as it is, never changed.
    useDefaults: input !== 'response',
    // Parameters arrive as strings; a JSON body and a response carry their own types.
    coerceTypes: input === 'parameters',
    code: { source, lines: false },
  };
  const ajv = new Ajv(options);
  // ajv-formats also names itself as the formats module of standalone code (`code.formats`).
  addFormats(ajv);
  ajv.addSchema(specSchema(document), SPEC_SCHEMA_ID);
  return ajv;
}

const parametersId = (operationId: string) => `parameters-${operationId}`;
const bodyId = (operationId: string) => `body-${operationId}`;

function addRequestSchemas(document: BundledDocument, source: boolean) {
  const schemas = operationSchemas(document);
  const parameters = specAjv(document, 'parameters', source);
  const bodies = specAjv(document, 'body', source);
  for (const operation of schemas) {
    parameters.addSchema(operation.parameters, parametersId(operation.operationId));
    if (operation.body) bodies.addSchema(operation.body, bodyId(operation.operationId));
  }
  return { schemas, parameters, bodies };
}

/** Compiles every operation's request validators now: for specs that have no generated code (test fixtures). */
export function compileRequestValidators(document: BundledDocument): RequestValidators {
  const { schemas, parameters, bodies } = addRequestSchemas(document, false);
  return new Map(
    schemas.map((operation) => [
      operation.operationId,
      {
        parameters: parameters.getSchema(parametersId(operation.operationId))!,
        body: operation.body ? bodies.getSchema(bodyId(operation.operationId))! : undefined,
      },
    ]),
  );
}

/**
 * The request validators as two CommonJS modules of standalone Ajv code (parameters, bodies), each
 * exporting one function per operationId, for `npm run generate` to write into generated/.
 */
export function requestValidatorSources(document: BundledDocument): { parameters: string; bodies: string } {
  const { schemas, parameters, bodies } = addRequestSchemas(document, true);
  const exportsOf = (id: (operationId: string) => string, wanted: (operation: OperationSchemas) => boolean) =>
    Object.fromEntries(schemas.filter(wanted).map((operation) => [operation.operationId, id(operation.operationId)]));
  return {
    parameters: standaloneCode(
      parameters,
      exportsOf(parametersId, () => true),
    ),
    bodies: standaloneCode(
      bodies,
      exportsOf(bodyId, (operation) => operation.body !== undefined),
    ),
  };
}

/** Loads the two generated modules back into the table the binding uses. */
export function requestValidatorsFromModules(
  operationIds: string[],
  parameters: Record<string, ValidateFunction>,
  bodies: Record<string, ValidateFunction>,
): RequestValidators {
  return new Map(
    operationIds.map((operationId) => {
      const validate = parameters[operationId];
      if (!validate) throw new Error(`the generated validators have no entry for ${operationId}`);
      return [operationId, { parameters: validate, body: bodies[operationId] }];
    }),
  );
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
    this.ajv ??= specAjv(this.document, 'response');
    return this.ajv.compile(schema);
  }
}
