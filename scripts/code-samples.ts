/**
 * `x-codeSamples` for every operation of the bundled spec (curl, TypeScript with @warden/sdk,
 * Python requests), made from what the spec says of the operation: its method and path, the
 * credential its `security` asks for, its parameters' examples and its request example. Redoc
 * shows them beside each operation, so no sample is written by hand and none can drift from the
 * contract. `npm run generate` calls addCodeSamples on generated/openapi.json.
 */

export interface CodeSample {
  lang: 'Shell' | 'TypeScript' | 'Python';
  label: string;
  source: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Schema {
  type?: string;
  pattern?: string;
  default?: Json;
  example?: Json;
  enum?: Json[];
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  example?: Json;
  schema?: Schema;
  'x-catch-all'?: boolean;
}
interface MediaType {
  example?: Json;
  examples?: Record<string, { value?: Json }>;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<Parameter | { $ref: string }>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
  'x-permission'?: string;
  'x-codeSamples'?: CodeSample[];
}
interface SecurityScheme {
  type: string;
  in?: string;
  name?: string;
  scheme?: string;
}
export interface Spec {
  servers?: Array<{ url: string }>;
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, Operation | Parameter[] | unknown>>;
  components: { parameters?: Record<string, Parameter>; securitySchemes?: Record<string, SecurityScheme> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** How a sample presents a credential: the header (and, for curl and Python, the environment variable holding it). */
interface Credential {
  header: string;
  prefix: string;
  env: string;
  /** the createWardenClient option that sends it; undefined: a per-call header */
  sdkOption?: 'apiKey' | 'token' | 'agentSecret';
}

/** The credentials Warden's schemes name; platform-scoped operations need an admin session. */
const KNOWN_CREDENTIALS: Record<string, Credential> = {
  ApiKeyAuth: { header: 'X-API-Key', prefix: '', env: 'WARDEN_API_KEY', sdkOption: 'apiKey' },
  BearerAuth: { header: 'Authorization', prefix: 'Bearer ', env: 'WARDEN_TOKEN', sdkOption: 'token' },
  AgentSecret: { header: 'X-Agent-Secret', prefix: '', env: 'WARDEN_AGENT_SECRET', sdkOption: 'agentSecret' },
  RuntimeToken: { header: 'Authorization', prefix: 'Bearer ', env: 'WARDEN_RUNTIME_TOKEN', sdkOption: 'token' },
  GatewayKey: { header: 'Authorization', prefix: 'Bearer ', env: 'WARDEN_GATEWAY_KEY', sdkOption: 'token' },
};
const ADMIN_SESSION: Credential = { header: 'Authorization', prefix: 'Bearer ', env: 'WARDEN_ADMIN_SESSION', sdkOption: 'token' };

/** One request, as every sample language spells it. */
interface RequestFacts {
  method: string;
  template: string;
  path: Record<string, Json>;
  catchAll: string[];
  query: Record<string, Json>;
  headers: Record<string, string>;
  credential?: Credential;
  body?: { contentType: string; value: Json };
  responseType: 'json' | 'text' | 'blob';
}

export function addCodeSamples(spec: Spec, platformPermissions: ReadonlySet<string>): void {
  const baseUrl = spec.servers?.[0]?.url ?? 'http://localhost:9300';
  for (const [template, item] of Object.entries(spec.paths)) {
    const shared = (item.parameters as Parameter[] | undefined) ?? [];
    for (const method of METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const facts = requestFacts(spec, template, method, shared, operation, platformPermissions);
      operation['x-codeSamples'] = [
        { lang: 'Shell', label: 'curl', source: curl(baseUrl, facts) },
        { lang: 'TypeScript', label: 'TypeScript', source: typescript(baseUrl, facts) },
        { lang: 'Python', label: 'Python', source: python(baseUrl, facts) },
      ];
    }
  }
}

function requestFacts(
  spec: Spec,
  template: string,
  method: string,
  shared: Parameter[],
  operation: Operation,
  platformPermissions: ReadonlySet<string>,
): RequestFacts {
  const resolve = (parameter: Parameter | { $ref: string }): Parameter =>
    '$ref' in parameter ? spec.components.parameters![parameter.$ref.split('/').pop()!]! : parameter;
  const parameters = [...shared, ...(operation.parameters ?? [])].map(resolve);
  const examples = operationExamples(operation);
  const facts: RequestFacts = {
    method,
    template,
    path: {},
    catchAll: [],
    query: {},
    headers: {},
    credential: credentialOf(spec, operation, platformPermissions),
    responseType: responseTypeOf(operation),
  };
  // Path parameters, required query parameters, and the headers that are required or have an example.
  const shown = parameters.filter(
    (parameter) => parameter.in === 'path' || parameter.required || (parameter.in === 'header' && parameter.example !== undefined),
  );
  for (const parameter of shown) {
    const value = parameterExample(parameter, examples, operation.operationId);
    if (parameter.in === 'path') facts.path[parameter.name] = value;
    if (parameter.in === 'query') facts.query[parameter.name] = value;
    if (parameter.in === 'header') facts.headers[parameter.name] = String(value);
    if (parameter['x-catch-all']) facts.catchAll.push(parameter.name);
  }
  const content = Object.entries(operation.requestBody?.content ?? {})[0];
  if (content) {
    const [type, media] = content;
    const value = mediaExample(media);
    if (value !== undefined) facts.body = { contentType: type === '*/*' ? rawContentType(value) : type, value };
  }
  return facts;
}

function credentialOf(spec: Spec, operation: Operation, platformPermissions: ReadonlySet<string>): Credential | undefined {
  const requirement = (operation.security ?? spec.security ?? [])[0];
  const scheme = requirement && Object.keys(requirement)[0];
  if (!scheme) return undefined;
  if (platformPermissions.has(operation['x-permission'] ?? '')) return ADMIN_SESSION;
  const known = KNOWN_CREDENTIALS[scheme];
  if (known) return known;
  // A scheme added later: named after its header (apiKey) or sent as a bearer token (http).
  const defined = spec.components.securitySchemes?.[scheme];
  const env = `WARDEN_${scheme.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
  if (defined?.type === 'apiKey' && defined.in === 'header' && defined.name) return { header: defined.name, prefix: '', env };
  return { header: 'Authorization', prefix: 'Bearer ', env, sdkOption: 'token' };
}

function responseTypeOf(operation: Operation): RequestFacts['responseType'] {
  const success = Object.entries(operation.responses).find(([status]) => status.startsWith('2'));
  const types = Object.keys(success?.[1].content ?? { 'application/json': {} });
  if (types.some((type) => type.includes('json'))) return 'json';
  return types.some((type) => type.startsWith('text/') || type.includes('yaml')) ? 'text' : 'blob';
}

/** The request example, then each response's: where a parameter's value is most likely spelled out. */
function operationExamples(operation: Operation): Json[] {
  const media = [
    ...Object.values(operation.requestBody?.content ?? {}),
    ...Object.entries(operation.responses)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([, response]) => Object.values(response.content ?? {})),
  ];
  return media.map(mediaExample).filter((example) => example !== undefined);
}

function mediaExample(media: MediaType): Json | undefined {
  return media.example ?? Object.values(media.examples ?? {})[0]?.value ?? media.schema?.example;
}

/**
 * A parameter's own example; else a value under its name (or `id`) in the operation's examples
 * that fits its schema; else its default or first enum value; else an id made from its pattern's prefix.
 */
function parameterExample(parameter: Parameter, examples: Json[], operationId: string): Json {
  const schema = parameter.schema ?? {};
  const own = parameter.example ?? schema.example;
  if (own !== undefined) return own;
  const fits = (value: Json) =>
    (typeof value === 'string' && (!schema.pattern || new RegExp(schema.pattern).test(value))) ||
    (typeof value === 'number' && (schema.type === 'integer' || schema.type === 'number'));
  for (const key of [parameter.name, 'id']) {
    const found = examples.map((example) => findKey(example, key, fits)).find((value) => value !== undefined);
    if (found !== undefined) return found;
  }
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.[0] !== undefined) return schema.enum[0];
  const prefix = /^\^\(?([a-z]+_)/.exec(schema.pattern ?? '')?.[1];
  if (prefix) return `${prefix}01jd4v3k8m2q6r9t1w5y7z0abc`;
  throw new Error(`generate: ${operationId}'s parameter ${parameter.name} needs an example for its code samples`);
}

function findKey(value: Json, key: string, fits: (value: Json) => boolean): Json | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findKey(item, key, fits);
      if (found !== undefined) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    if (key in value && fits(value[key]!)) return value[key];
    for (const item of Object.values(value)) {
      const found = findKey(item, key, fits);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** A raw body (the gateway's `*` / `*`) is sent as JSON when its example is JSON text. */
function rawContentType(value: Json): string {
  if (typeof value !== 'string') return 'application/json';
  try {
    JSON.parse(value);
    return 'application/json';
  } catch {
    return 'application/octet-stream';
  }
}

function filledPath(facts: RequestFacts): string {
  return facts.template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = String(facts.path[name]);
    return facts.catchAll.includes(name) ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
  });
}

function queryString(query: Record<string, Json>): string {
  const search = new URLSearchParams(Object.entries(query).map(([name, value]): [string, string] => [name, String(value)])).toString();
  return search ? `?${search}` : '';
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const bodyText = (value: Json) => (typeof value === 'string' ? value : JSON.stringify(value));

function curl(baseUrl: string, facts: RequestFacts): string {
  const lines = [
    `curl${facts.method === 'get' ? '' : ` -X ${facts.method.toUpperCase()}`} ${shellQuote(baseUrl + filledPath(facts) + queryString(facts.query))}`,
  ];
  const credential = facts.credential;
  if (credential) lines.push(`-H "${credential.header}: ${credential.prefix}$${credential.env}"`);
  for (const [name, value] of Object.entries(facts.headers)) lines.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  if (facts.body) {
    lines.push(`-H ${shellQuote(`Content-Type: ${facts.body.contentType}`)}`);
    lines.push(`-d ${shellQuote(bodyText(facts.body.value))}`);
  }
  return lines.join(' \\\n  ');
}

/** A JavaScript object literal: identifier keys bare, strings single-quoted, indented like Biome would. */
function jsLiteral(value: Json, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const flat = `[${value.map((item) => jsLiteral(item, indent)).join(', ')}]`;
    if (flat.length <= 80 && !flat.includes('\n')) return flat;
    return `[\n${value.map((item) => `${indent}  ${jsLiteral(item, `${indent}  `)},`).join('\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : jsString(name));
    return `{\n${entries.map(([name, item]) => `${indent}  ${key(name)}: ${jsLiteral(item, `${indent}  `)},`).join('\n')}\n${indent}}`;
  }
  return typeof value === 'string' ? jsString(value) : JSON.stringify(value);
}

const jsString = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;

function typescript(baseUrl: string, facts: RequestFacts): string {
  const credential = facts.credential;
  const option = credential?.sdkOption ? `, ${credential.sdkOption}: process.env.${credential.env}` : '';
  const init: string[] = [];
  const params: string[] = [];
  if (Object.keys(facts.path).length > 0) params.push(`path: ${jsLiteral(facts.path, '    ')}`);
  if (Object.keys(facts.query).length > 0) params.push(`query: ${jsLiteral(facts.query, '    ')}`);
  if (params.length > 0) init.push(`params: {\n    ${params.join(',\n    ')},\n  }`);
  const headers = { ...facts.headers };
  if (credential && !credential.sdkOption) headers[credential.header] = `\${process.env.${credential.env}}`;
  if (facts.body && typeof facts.body.value === 'string') {
    headers['Content-Type'] = facts.body.contentType;
    init.push(`body: ${jsString(facts.body.value)}`, 'bodySerializer: (body) => body');
  } else if (facts.body) init.push(`body: ${jsLiteral(facts.body.value, '  ')}`);
  if (Object.keys(headers).length > 0) {
    const entries = Object.entries(headers).map(([name, value]) =>
      value.startsWith('${') ? `${jsString(name)}: \`${value}\`` : `${jsString(name)}: ${jsString(value)}`,
    );
    init.push(`headers: {\n    ${entries.join(',\n    ')},\n  }`);
  }
  if (facts.catchAll.length > 0) {
    // The default serializer would escape the slashes of a catch-all parameter.
    const keep = facts.catchAll.map((name) => jsString(name)).join(', ');
    init.push(
      `pathSerializer: (template, values) =>\n    template.replace(/\\{(\\w+)\\}/g, (_, name: string) =>\n` +
        `      [${keep}].includes(name) ? String(values[name]) : encodeURIComponent(String(values[name])),\n    )`,
    );
  }
  if (facts.responseType !== 'json') init.push(`parseAs: '${facts.responseType}'`);
  const call = `warden.${facts.method.toUpperCase()}(${jsString(facts.template)}${init.length > 0 ? `, {\n  ${init.join(',\n  ')},\n}` : ''})`;
  return [
    "import { createWardenClient } from '@warden/sdk';",
    '',
    `const warden = createWardenClient({ baseUrl: '${baseUrl}'${option} });`,
    `const { data, error } = await ${call};`,
    "// error: the answer of a failed call (Warden's error body: code, message, request_id)",
    'if (error) throw new Error(JSON.stringify(error));',
    'console.log(data);',
  ].join('\n');
}

/** A Python literal: True/False/None, double-quoted strings, indented by 4. */
function pyLiteral(value: Json, indent: string): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => `${inner}${pyLiteral(item, inner)},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([name, item]) => `${inner}${JSON.stringify(name)}: ${pyLiteral(item, inner)},`).join('\n')}\n${indent}}`;
}

function python(baseUrl: string, facts: RequestFacts): string {
  const args = [JSON.stringify(baseUrl + filledPath(facts))];
  const credential = facts.credential;
  const headers: string[] = [];
  if (credential) {
    const value = credential.prefix ? `"${credential.prefix}" + os.environ["${credential.env}"]` : `os.environ["${credential.env}"]`;
    headers.push(`"${credential.header}": ${value}`);
  }
  for (const [name, value] of Object.entries(facts.headers)) headers.push(`${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  if (facts.body && typeof facts.body.value === 'string') headers.push(`"Content-Type": ${JSON.stringify(facts.body.contentType)}`);
  if (headers.length > 0) args.push(`headers={\n        ${headers.join(',\n        ')},\n    }`);
  if (Object.keys(facts.query).length > 0) args.push(`params=${pyLiteral(facts.query, '    ')}`);
  if (facts.body) {
    args.push(
      typeof facts.body.value === 'string' ? `data=${JSON.stringify(facts.body.value)}` : `json=${pyLiteral(facts.body.value, '    ')}`,
    );
  }
  args.push('timeout=30');
  const read = { json: 'response.json()', text: 'response.text', blob: 'len(response.content)' }[facts.responseType];
  return [
    ...(credential ? ['import os', ''] : []),
    'import requests',
    '',
    `response = requests.${facts.method}(`,
    ...args.map((arg) => `    ${arg},`),
    ')',
    'response.raise_for_status()',
    `print(${read})`,
  ].join('\n');
}
