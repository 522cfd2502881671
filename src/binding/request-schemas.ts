import { HTTP_METHODS } from './operation-table';

/**
 * The JSON Schemas Warden validates each operation's input and output with, built from the bundled
 * spec (internal `$ref`s intact). Every `#/...` reference is re-pointed at the document registered
 * with Ajv under SPEC_SCHEMA_ID, so a component schema is compiled once however many operations
 * use it, both when compiling at start (fixture specs) and when generating standalone code.
 *
 * Request input is validated as one object `{ path, query, header, cookie, requestBody }`: one
 * schema for the parameters (compiled with type coercion, since they arrive as strings) and one
 * for the JSON body (without), the shape openapi-backend established and Warden's errors read.
 */
export const SPEC_SCHEMA_ID = 'openapi.json';

type Json = Record<string, unknown>;
export interface BundledDocument {
  paths?: Record<string, unknown>;
  components?: unknown;
  [key: string]: unknown;
}
interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  style?: string;
  explode?: boolean;
  schema?: Json;
  content?: Record<string, { schema?: Json }>;
}

export interface OperationSchemas {
  operationId: string;
  parameters: Json;
  body?: Json;
  /** JSON response schemas by documented status (`200`, `4XX`, `default`). */
  responses: Record<string, Json>;
}

/** Follows `$ref`s to a non-schema object (parameter, request body, response) in the same document. */
export function resolveRef<T>(document: BundledDocument, value: T): T {
  let current = value as Json;
  for (let hops = 0; typeof current?.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`Too many $ref hops from ${String(current.$ref)}`);
    current = pointer(document, current.$ref as string) as Json;
  }
  return current as T;
}

function pointer(document: BundledDocument, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`Only references inside the bundled spec are supported (got ${ref})`);
  return ref
    .slice(2)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => {
      if (node === null || typeof node !== 'object' || !(key in node)) throw new Error(`Unresolvable $ref ${ref}`);
      return (node as Json)[key];
    }, document);
}

/** A copy of a schema whose internal references name the registered document. */
function anchored(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema ?? {}), (key, value) =>
    key === '$ref' && typeof value === 'string' && value.startsWith('#') ? `${SPEC_SCHEMA_ID}${value}` : value,
  );
}

/** The document as Ajv holds it, for references into it to resolve. */
export function specSchema(document: BundledDocument): Json {
  return anchored(document);
}

export function operationSchemas(document: BundledDocument): OperationSchemas[] {
  const result: OperationSchemas[] = [];
  for (const pathItem of Object.values(document.paths ?? {}) as Json[]) {
    const shared = ((pathItem.parameters as ParameterObject[] | undefined) ?? []).map((parameter) => resolveRef(document, parameter));
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method] as Json | undefined;
      if (typeof operation?.operationId !== 'string') continue;
      const own = ((operation.parameters as ParameterObject[] | undefined) ?? []).map((parameter) => resolveRef(document, parameter));
      const parameters = [...shared.filter((outer) => !own.some((inner) => sameParameter(inner, outer))), ...own];
      const requestBody = resolveRef(
        document,
        operation.requestBody as { required?: boolean; content?: Record<string, { schema?: Json }> },
      );
      const bodySchema = requestBody?.content?.['application/json']?.schema;
      result.push({
        operationId: operation.operationId,
        parameters: parametersSchema(parameters),
        body: bodySchema
          ? {
              type: 'object',
              properties: { requestBody: anchored(bodySchema) },
              required: requestBody.required === true ? ['requestBody'] : [],
            }
          : undefined,
        responses: responseSchemas(document, (operation.responses ?? {}) as Json),
      });
    }
  }
  return result;
}

const sameParameter = (a: ParameterObject, b: ParameterObject) => a.name === b.name && a.in === b.in;

function parametersSchema(parameters: ParameterObject[]): Json {
  const location = (additionalProperties: boolean) => ({
    type: 'object',
    additionalProperties,
    properties: {} as Json,
    required: [] as string[],
  });
  const locations: Record<ParameterObject['in'], Json & { properties: Json; required: string[] }> = {
    path: location(false),
    query: location(false),
    header: location(true),
    cookie: location(true),
  };
  const required = new Set<string>();
  for (const parameter of parameters) {
    if (isFreeFormQuery(parameter)) {
      // An exploded form object spreads its properties over the query string (OpenAPI 3.0 `style: form`),
      // so its additionalProperties admit the query keys no other parameter names (a proxy's arbitrary query).
      locations.query.additionalProperties = anchored(parameter.schema!.additionalProperties ?? {});
      continue;
    }
    const target = locations[parameter.in];
    // Header names are case-insensitive (RFC 9110) and Node hands them over in lower case.
    const name = parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name;
    target.properties[name] = anchored(parameter.content?.['application/json']?.schema ?? parameter.schema);
    if (parameter.required) {
      if (!target.required.includes(name)) target.required.push(name);
      required.add(parameter.in);
    }
  }
  return { type: 'object', properties: locations, required: [...required] };
}

function isFreeFormQuery(parameter: ParameterObject): boolean {
  return (
    parameter.in === 'query' &&
    parameter.schema?.type === 'object' &&
    (parameter.style ?? 'form') === 'form' &&
    parameter.explode !== false &&
    parameter.schema.properties === undefined
  );
}

function responseSchemas(document: BundledDocument, responses: Json): Record<string, Json> {
  const schemas: Record<string, Json> = {};
  for (const [status, reference] of Object.entries(responses)) {
    const schema = resolveRef(document, reference as { content?: Record<string, { schema?: Json }> })?.content?.['application/json']
      ?.schema;
    if (schema) schemas[status] = anchored(schema);
  }
  return schemas;
}
