import Ajv, { type Options } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import addFormats from 'ajv-formats';
import { type BundledDocument, operationSchemas, SPEC_SCHEMA_ID, specSchema } from './request-schemas';
import type { RequestValidators } from './spec-validators';

/*
 * Ajv compilation, loaded only where something is compiled: by `npm run generate`, for fixture
 * specs, and on a response check's first use. The published spec starts without it.
 */

/** The Ajv settings every Warden validator is compiled with, at generate time and on the fly alike. */
export function specAjv(document: BundledDocument, input: 'parameters' | 'body' | 'response', source = false): Ajv {
  const options: Options = {
    allErrors: true,
    strict: false,
    // Request input gets its documented defaults; a response is checked as it is, never changed.
    useDefaults: input !== 'response',
    // Parameters arrive as strings; a JSON body and a response carry their own types.
    coerceTypes: input === 'parameters',
    // `multipleOf: 0.000001` (USD to the micro-dollar) in plain floating point refuses 0.1 and 1.1.
    multipleOfPrecision: 9,
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
 * Each operation's request validators as the source of one CommonJS module of standalone Ajv code,
 * for `npm run generate`: the module is a factory over the loader's `require` (so it finds Ajv's
 * runtime wherever it is written) returning `{ parameters, body?, specDigest }`. One module per
 * operation, so a server loads an operation's code on its first request, not all of it at start.
 */
export function requestValidatorModules(document: BundledDocument, specDigest: string): Map<string, string> {
  const { schemas, parameters, bodies } = addRequestSchemas(document, true);
  // Each standalone unit is scoped in its own function: both number their functions from validate10.
  const unit = (ajv: Ajv, id: string) =>
    `(() => {\nconst exports = {};\n${standaloneCode(ajv, { validate: id }).replace(/^"use strict";/, '')}\nreturn exports.validate;\n})()`;
  return new Map(
    schemas.map((operation) => {
      const body = operation.body ? `  body: ${unit(bodies, bodyId(operation.operationId))},\n` : '';
      const source =
        `/* Generated from openapi/ by \`npm run generate\`. Do not edit. */\n"use strict";\n` +
        `module.exports = (require) => ({\n  specDigest: "${specDigest}",\n` +
        `  parameters: ${unit(parameters, parametersId(operation.operationId))},\n${body}});\n`;
      return [operation.operationId, source];
    }),
  );
}
