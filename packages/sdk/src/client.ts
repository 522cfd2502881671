import { randomUUID } from 'node:crypto';
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './api';
import { WardenError } from './errors';
import { type RetryOptions, retryingFetch } from './retry';
import { SDK_VERSION } from './version';

export interface WardenClientOptions {
  /** Where Warden listens, without `/api/v1`, e.g. `http://localhost:9300`. */
  baseUrl: string;
  /** An API key (`sk_live_…`/`sk_test_…`), sent as `X-API-Key`. */
  apiKey?: string;
  /** A bearer credential: a login JWT, an admin session (`adm_…`) or a runtime token (`srt_…`). */
  token?: string;
  /** An agent's own secret (`sas_…`), sent as `X-Agent-Secret`. */
  agentSecret?: string;
  /** The device fingerprint a device-bound API key must present (`X-Warden-Device`). */
  device?: string;
  /** Retrying of 429 and 503 answers; `false` turns it off. */
  retry?: RetryOptions | false;
  /** Another fetch (a proxy agent, a test double of the network). */
  fetch?: (input: Request) => Promise<Response>;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** Every path with a GET answering a cursor page (`next_cursor` beside one array of items). */
export type PaginatedPath = {
  [P in keyof paths]: PageOf<P> extends { next_cursor: string | null } ? P : never;
}[keyof paths];

type GetOperation<P extends keyof paths> = paths[P] extends { get: infer Op } ? Op : never;
type PageOf<P extends keyof paths> =
  GetOperation<P> extends { responses: { 200: { content: { 'application/json': infer Body } } } } ? Body : never;
/** The element type of a page's item array (`agents`, `api_keys`, …). */
export type ItemOf<P extends PaginatedPath> = {
  [K in keyof PageOf<P>]: PageOf<P>[K] extends Array<infer Item> ? Item : never;
}[keyof PageOf<P>];
type QueryOf<P extends PaginatedPath> = GetOperation<P> extends { parameters: { query?: infer Q } } ? Q : never;
type PathParamsOf<P extends PaginatedPath> = GetOperation<P> extends { parameters: { path: infer Params } } ? Params : never;

export interface PaginateInit<P extends PaginatedPath> {
  params?: { query?: Omit<NonNullable<QueryOf<P>>, 'cursor'> } & ([PathParamsOf<P>] extends [never] ? unknown : { path: PathParamsOf<P> });
  headers?: Record<string, string>;
}

export type WardenClient = Client<paths> & {
  /**
   * Every item of a list, page after page (following `next_cursor`), as an async iterator.
   * A refused page throws a {@link WardenError}.
   */
  paginate<P extends PaginatedPath>(path: P, init?: PaginateInit<P>): AsyncGenerator<ItemOf<P>, void, undefined>;
};

/** A typed client of the Warden API (openapi-fetch over the spec's generated types). */
export function createWardenClient(options: WardenClientOptions): WardenClient {
  const headers: Record<string, string> = { 'User-Agent': `warden-sdk/${SDK_VERSION}`, ...options.headers };
  if (options.apiKey) headers['X-API-Key'] = options.apiKey;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.agentSecret) headers['X-Agent-Secret'] = options.agentSecret;
  if (options.device) headers['X-Warden-Device'] = options.device;
  const transport = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const clientOptions: ClientOptions = {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers,
    fetch: options.retry === false ? transport : retryingFetch(options.retry, transport),
  };
  const client = createClient<paths>(clientOptions);
  return Object.assign(client, { paginate: pager(client) }) as WardenClient;
}

function pager(client: Client<paths>) {
  // The generic path defeats openapi-fetch's per-path typing; the public signature carries the types.
  const get = client.GET as unknown as (
    path: string,
    init: object,
  ) => Promise<{ data?: Record<string, unknown>; error?: unknown; response: Response }>;
  return async function* paginate(path: string, init: { params?: { query?: object; path?: object }; headers?: object } = {}) {
    let cursor: string | undefined;
    do {
      const query = { ...init.params?.query, ...(cursor === undefined ? {} : { cursor }) };
      const { data, error, response } = await get(path, { ...init, params: { ...init.params, query } });
      if (data === undefined) throw WardenError.from(response, error);
      const items = Object.values(data).find(Array.isArray);
      if (!items) throw new TypeError(`${path} answered no list`);
      yield* items;
      cursor = typeof data.next_cursor === 'string' ? data.next_cursor : undefined;
    } while (cursor !== undefined);
  };
}

/**
 * Headers carrying a fresh `Idempotency-Key`: pass them on a write, and keep the object to send
 * the very same key when you retry that write yourself (the SDK's own retries reuse it).
 */
export function idempotencyKey(key: string = randomUUID()): { 'Idempotency-Key': string } {
  return { 'Idempotency-Key': key };
}

/**
 * The data of an openapi-fetch answer, or a {@link WardenError} thrown with Warden's error body:
 * `const agent = await unwrap(warden.GET('/api/v1/agents/{id}', …))`.
 */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw WardenError.from(response, error);
  return data as T;
}
