import { type DateTimePath, dateTimePaths } from './safe-input';

/**
 * The per-operation facts the binding layer needs on every request, read once from the
 * dereferenced spec at start-up: route, security, the JSON body it takes, the content type of
 * each documented response, and Warden's vendor extensions.
 */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface OperationExtensions {
  /** `x-permission`: the RBAC permission a caller needs. */
  permission?: string;
  /** `x-plan-feature`: the plan feature that gates the operation (402 without it). */
  planFeature?: string;
  /** `x-audit`: the audit action the binding writes, in the operation's transaction, when it succeeds. */
  audit?: string;
  /**
   * `x-audit` of an operation marked `x-audit-recorded-by: service`: its service records the
   * action itself (failures too, and without holding a transaction open while it works), so the
   * binding writes nothing.
   */
  serviceAudit?: string;
  /** `x-rate-limit`: the rate-limit bucket the operation counts against. */
  rateLimit?: string;
  /** `x-feature-flag`: the configuration flag (e.g. `GITOPS_ENABLED`) without which the operation is absent (404). */
  featureFlag?: string;
}

export interface BoundOperation {
  operationId: string;
  /** Upper-case HTTP method. */
  method: string;
  /** The path template as the spec writes it, e.g. `/api/v1/orgs/{org_id}/workspaces`. */
  path: string;
  tags: string[];
  /** Effective security requirements (the operation's own, else the document's); empty = public. */
  security: Array<Record<string, string[]>>;
  extensions: OperationExtensions;
  /** Present when the operation takes a JSON body. */
  jsonBody?: { required: boolean };
  /**
   * `x-stream-body: true`: the body, of any content type, is left unread for the handler to
   * stream on (a proxy); the binding neither parses, buffers nor validates it.
   */
  streamBody?: true;
  /**
   * The path parameter marked `x-catch-all: true`, always the template's last segment: it takes
   * the rest of the path, one or more segments, raw (percent-escapes as sent).
   */
  catchAll?: string;
  /** Query parameters whose schema is an array, with how a single value is split. */
  arrayQueryParameters: Map<string, 'repeat' | 'comma'>;
  hasHeaderParameters: boolean;
  /** Where date-time values sit in the query and the JSON body, to be rewritten to UTC after validation. */
  dateTimes: { query: DateTimePath[]; body: DateTimePath[] };
  /** Every documented response status (`default` included) with its content types, in spec order. */
  responses: Map<string, string[]>;
}

interface ParameterObject {
  name: string;
  in: string;
  'x-catch-all'?: unknown;
  explode?: boolean;
  style?: string;
  schema?: { type?: string };
}
interface MediaTypeObject {
  schema?: unknown;
}
interface OperationObject {
  operationId?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  [extension: `x-${string}`]: unknown;
}
export interface DereferencedDocument {
  security?: Array<Record<string, string[]>>;
  paths?: Record<string, Record<string, unknown> & { parameters?: ParameterObject[] }>;
}

const EXTENSION_RULES: Record<string, { key: keyof OperationExtensions; pattern: RegExp; example: string }> = {
  'x-permission': { key: 'permission', pattern: /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/, example: 'workspace.write' },
  'x-plan-feature': { key: 'planFeature', pattern: /^[a-z][a-z0-9_]*$/, example: 'fleet_ops' },
  'x-audit': { key: 'audit', pattern: /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/, example: 'workspace.created' },
  'x-rate-limit': { key: 'rateLimit', pattern: /^[a-z][a-z0-9_]*$/, example: 'login' },
  'x-feature-flag': { key: 'featureFlag', pattern: /^[A-Z][A-Z0-9_]*$/, example: 'GITOPS_ENABLED' },
};

export class OperationTableError extends Error {
  constructor(readonly problems: string[]) {
    super(`The OpenAPI document cannot be bound:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'OperationTableError';
  }
}

export function buildOperationTable(document: DereferencedDocument): BoundOperation[] {
  const problems: string[] = [];
  const operations: BoundOperation[] = [];
  for (const [path, pathItem] of Object.entries(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method] as OperationObject | undefined;
      if (!operation) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!operation.operationId) {
        problems.push(`${where} has no operationId`);
        continue;
      }
      const parameters = [...(operation.parameters ?? []), ...(pathItem.parameters ?? [])];
      const streamBody = readStreamBody(operation, problems);
      const jsonContent = streamBody ? undefined : operation.requestBody?.content?.['application/json'];
      if (operation.requestBody && !jsonContent && !streamBody) {
        problems.push(`${operation.operationId}: request bodies must be application/json (or the operation marked x-stream-body)`);
      }
      const catchAll = readCatchAll(operation.operationId, path, parameters, problems);
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        tags: operation.tags ?? [],
        security: operation.security ?? document.security ?? [],
        extensions: readExtensions(operation, problems),
        ...(jsonContent ? { jsonBody: { required: operation.requestBody?.required === true } } : {}),
        ...(streamBody ? { streamBody } : {}),
        ...(catchAll ? { catchAll } : {}),
        arrayQueryParameters: new Map(
          parameters
            .filter((parameter) => parameter.in === 'query' && parameter.schema?.type === 'array')
            .map((parameter) => [parameter.name, parameter.explode === false ? 'comma' : 'repeat'] as const),
        ),
        hasHeaderParameters: parameters.some((parameter) => parameter.in === 'header'),
        dateTimes: {
          query: parameters
            .filter((parameter) => parameter.in === 'query')
            .flatMap((parameter) => dateTimePaths(parameter.schema, [parameter.name])),
          body: dateTimePaths(jsonContent?.schema),
        },
        responses: new Map(
          Object.entries(operation.responses ?? {}).map(([status, response]) => [status, Object.keys(response.content ?? {})]),
        ),
      });
    }
  }
  const seen = new Set<string>();
  for (const { operationId } of operations) {
    if (seen.has(operationId)) problems.push(`operationId ${operationId} is used more than once`);
    seen.add(operationId);
  }
  if (problems.length > 0) throw new OperationTableError(problems);
  return operations;
}

function readExtensions(operation: OperationObject, problems: string[]): OperationExtensions {
  const extensions: OperationExtensions = {};
  for (const [name, rule] of Object.entries(EXTENSION_RULES)) {
    const value = operation[name as `x-${string}`];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !rule.pattern.test(value)) {
      problems.push(`${operation.operationId}: ${name} must be a string like "${rule.example}" (got ${JSON.stringify(value)})`);
      continue;
    }
    extensions[rule.key] = value;
  }
  const recordedBy = operation['x-audit-recorded-by'];
  if (recordedBy !== undefined) {
    if (recordedBy !== 'service' || !extensions.audit) {
      problems.push(
        `${operation.operationId}: x-audit-recorded-by must be "service", beside the x-audit it qualifies (got ` +
          `${JSON.stringify(recordedBy)})`,
      );
    } else {
      extensions.serviceAudit = extensions.audit;
      delete extensions.audit;
    }
  }
  return extensions;
}

function readStreamBody(operation: OperationObject, problems: string[]): true | undefined {
  const mark = operation['x-stream-body'];
  if (mark === undefined || mark === false) return undefined;
  if (mark !== true) problems.push(`${operation.operationId}: x-stream-body must be true or false (got ${JSON.stringify(mark)})`);
  return mark === true ? true : undefined;
}

/** A catch-all takes whatever follows its place, so only the template's last segment can be one. */
function readCatchAll(operationId: string, path: string, parameters: ParameterObject[], problems: string[]): string | undefined {
  const marked = parameters.filter((parameter) => parameter['x-catch-all'] !== undefined);
  if (marked.length === 0) return undefined;
  const [parameter] = marked;
  if (marked.length > 1 || parameter!['x-catch-all'] !== true || parameter!.in !== 'path' || !path.endsWith(`/{${parameter!.name}}`)) {
    problems.push(`${operationId}: x-catch-all: true may mark one path parameter, the last segment of the path (${path})`);
    return undefined;
  }
  return parameter!.name;
}
