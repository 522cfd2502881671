import type { ErrorDetail } from '../errors/api-error';

/**
 * Checks the binding applies to every request before its handler runs, for values the spec's
 * schemas accept but Postgres does not: NUL characters and unpaired UTF-16 surrogates in any
 * string (values and object keys), JSON nested deeper than any Warden body, and date-times
 * whose offset Postgres cannot store (they are rewritten to UTC instead).
 */

/** Far deeper than any request body in the spec; deep enough nesting would exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/** The first string (value or object key) Postgres cannot store, as an error detail naming it. */
export function unstorableString(value: unknown, location: ErrorDetail['location']): ErrorDetail | undefined {
  // The path is one stack, pushed and popped as the walk goes: a clean value allocates nothing.
  const path: string[] = [];
  const found = findUnstorable(value, path);
  if (found === 'number') return detail(location, path, 'is a number beyond what a double or jsonb can hold (±1.8e308)');
  if (found === 'value') return detail(location, path, 'is not storable text: it contains a NUL character or an unpaired UTF-16 surrogate');
  if (found === 'key') return detail(location, path, 'is a field name that contains a NUL character or an unpaired UTF-16 surrogate');
  return undefined;
}

function findUnstorable(value: unknown, path: string[]): 'value' | 'key' | 'number' | undefined {
  if (typeof value === 'string') return isStorable(value) ? undefined : 'value';
  // JSON.parse reads 1e400 as Infinity, which no schema bound refuses and jsonb cannot store.
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'number';
  if (typeof value !== 'object' || value === null) return undefined;
  const isArray = Array.isArray(value);
  for (const key of isArray ? value.keys() : Object.keys(value)) {
    path.push(String(key));
    if (!isArray && !isStorable(key as string)) return 'key';
    const found = findUnstorable((value as Record<string, unknown>)[key as string], path);
    if (found) return found;
    path.pop();
  }
  return undefined;
}

// With the u flag a surrogate pair is one code point, so \p{Cs} matches only an unpaired half.
const UNSTORABLE = /[\0\p{Cs}]/u;
const isStorable = (text: string) => !UNSTORABLE.test(text);

function detail(location: ErrorDetail['location'], path: string[], message: string): ErrorDetail {
  // The field is quoted back to the caller, so its own offending characters are shown escaped.
  const field = path
    .join('/')
    .replace(/[\0\uD800-\uDFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .slice(0, 512);
  return { location, field, message, rule: 'storable' };
}

/**
 * One pass over the raw JSON text, before it is parsed: throws when arrays and objects nest deeper
 * than `maxDepth` (so neither the parser nor the validators recurse into such a body), and tells
 * whether the text could hold a value Postgres cannot store, to be looked for after parsing. Raw
 * NUL is not valid JSON and valid UTF-8 cannot encode a surrogate, so only a `\u` escape can write
 * one; a number overflows a double only with a three-digit exponent or 300 integer digits.
 */
export function scanJsonText(raw: Buffer, maxDepth: number, fail: () => Error): { mayHoldUnstorable: boolean } {
  let depth = 0;
  let inString = false;
  let mayHoldUnstorable = false;
  let digits = 0;
  let part: 'integer' | 'fraction' | 'exponent' = 'integer';
  for (let index = 0; index < raw.length; index++) {
    const byte = raw[index]!;
    if (inString) {
      if (byte === 0x5c) {
        if (raw[index + 1] === 0x75) mayHoldUnstorable = true; // \u
        index++; // the escaped byte
      } else if (byte === 0x22) inString = false;
    } else if (byte >= 0x30 && byte <= 0x39) {
      digits++;
      if ((part === 'exponent' && digits >= 3) || (part === 'integer' && digits >= 300)) mayHoldUnstorable = true;
    } else if (byte === 0x2e) {
      part = 'fraction';
    } else if (byte === 0x65 || byte === 0x45) {
      part = 'exponent';
      digits = 0;
    } else if (byte !== 0x2b && byte !== 0x2d) {
      digits = 0;
      part = 'integer';
      if (byte === 0x22) inString = true;
      else if (byte === 0x7b || byte === 0x5b) {
        if (++depth > maxDepth) throw fail();
      } else if (byte === 0x7d || byte === 0x5d) depth--;
    }
  }
  return { mayHoldUnstorable };
}

/** Where date-times sit in a schema: property names, `*` for any array item or map value. */
export type DateTimePath = string[];

/** Every date-time location of a (dereferenced) schema; cyclic schemas are walked once per branch. */
export function dateTimePaths(schema: unknown, prefix: DateTimePath = [], seen = new Set<unknown>()): DateTimePath[] {
  if (typeof schema !== 'object' || schema === null || seen.has(schema)) return [];
  const node = schema as Record<string, unknown>;
  if (node.format === 'date-time') return [prefix];
  const inner = new Set(seen).add(schema);
  const paths: DateTimePath[] = [];
  for (const [name, property] of Object.entries((node.properties as Record<string, unknown>) ?? {})) {
    paths.push(...dateTimePaths(property, [...prefix, name], inner));
  }
  if (node.items) paths.push(...dateTimePaths(node.items, [...prefix, '*'], inner));
  if (typeof node.additionalProperties === 'object') paths.push(...dateTimePaths(node.additionalProperties, [...prefix, '*'], inner));
  for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
    for (const branch of (node[keyword] as unknown[]) ?? []) paths.push(...dateTimePaths(branch, prefix, inner));
  }
  return paths;
}

/** Earliest and latest instants Postgres and RFC 3339's four-digit years agree on. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z'); // Date.UTC would read year 1 as 1901
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Rewrites the validated date-times at `paths` inside `container[key]` to UTC ISO strings
 * (RFC 3339 allows offsets up to ±23:59, Postgres only ±15:59). Returns the first path whose
 * instant JavaScript or Postgres cannot represent (a leap second, year 0), else undefined.
 */
export function normaliseDateTimes(container: Record<string, unknown>, key: string, paths: DateTimePath[]): string[] | undefined {
  for (const path of paths) {
    const bad = normaliseAt(container, key, path, 0, [key]);
    if (bad) return bad.slice(1);
  }
  return undefined;
}

function normaliseAt(parent: Record<string, unknown>, key: string, path: DateTimePath, depth: number, at: string[]): string[] | undefined {
  const value = parent[key];
  if (depth === path.length) {
    if (typeof value !== 'string') return undefined;
    const time = Date.parse(value);
    if (!(time >= EARLIEST && time <= LATEST)) return at;
    parent[key] = new Date(time).toISOString();
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const segment = path[depth]!;
  const children = segment === '*' ? Object.keys(value) : Object.hasOwn(value, segment) ? [segment] : [];
  for (const child of children) {
    const bad = normaliseAt(value as Record<string, unknown>, child, path, depth + 1, [...at, child]);
    if (bad) return bad;
  }
  return undefined;
}
