/**
 * The RFC 8785 form of a jsonb value straight from PostgreSQL's text output of it, byte for byte,
 * for the common case; -1 when the value needs the general path (JSON.parse, then canonicalJson).
 *
 * jsonb's text output is already nearly canonical: strings are escaped exactly as JSON.stringify
 * escapes them (`\"`, `\\`, `\b\f\n\r\t`, other control characters as lowercase `\u00xx`, all
 * else as UTF-8), and it has no duplicate keys. What differs is a space after each `:` and `,`
 * (dropped here), key order (jsonb sorts by length first: accepted only where the keys are ASCII
 * and already in code-unit order) and numbers (accepted only as integers of at most 15 digits,
 * which ECMAScript writes the same way).
 */
export function canonicalDetails(src: Uint8Array, from: number, to: number, out: Uint8Array, pos: number): number {
  let depth = 0;
  let expectKey = false;
  let i = from;
  while (i < to) {
    const c = src[i]!;
    if (c === 0x20) {
      i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (depth === MAX_DEPTH) return -1;
      IS_OBJECT[depth] = c === 0x7b ? 1 : 0;
      KEY_START[depth] = -1;
      depth++;
      expectKey = c === 0x7b;
      out[pos++] = c;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      out[pos++] = c;
      i++;
    } else if (c === 0x2c || c === 0x3a) {
      expectKey = c === 0x2c && depth > 0 && IS_OBJECT[depth - 1] === 1;
      out[pos++] = c;
      i++;
    } else if (c === 0x22) {
      const end = stringEnd(src, i + 1, to);
      if (end < 0) return -1;
      if (expectKey && !keyFollows(src, i + 1, end, depth - 1)) return -1;
      expectKey = false;
      for (let j = i; j <= end; j++) out[pos++] = src[j]!;
      i = end + 1;
    } else {
      let end = i;
      while (end < to && !DELIMITER[src[end]!]) end++;
      if (!plainToken(src, i, end)) return -1;
      for (let j = i; j < end; j++) out[pos++] = src[j]!;
      i = end;
    }
  }
  return depth === 0 ? pos : -1;
}

const MAX_DEPTH = 64;
const IS_OBJECT = new Uint8Array(MAX_DEPTH);
/** Per open object, where its last key's bytes are in the source (between the quotes). */
const KEY_START = new Int32Array(MAX_DEPTH);
const KEY_END = new Int32Array(MAX_DEPTH);
const DELIMITER = new Uint8Array(256);
for (const byte of [0x20, 0x2c, 0x5d, 0x7d, 0x3a]) DELIMITER[byte] = 1;

/** The index of the quote closing a string whose content starts at `from`, or -1. */
function stringEnd(src: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const byte = src[i]!;
    if (byte === 0x5c) i++;
    else if (byte === 0x22) return i;
  }
  return -1;
}

/** Whether the key in src[from, to) is plain ASCII and sorts after the object's previous key; records it as the last. */
function keyFollows(src: Uint8Array, from: number, to: number, level: number): boolean {
  for (let i = from; i < to; i++) if (src[i]! >= 0x80 || src[i] === 0x5c) return false;
  const lastFrom = KEY_START[level]!;
  if (lastFrom >= 0) {
    const lastTo = KEY_END[level]!;
    let order = 0;
    const common = Math.min(to - from, lastTo - lastFrom);
    for (let k = 0; k < common && order === 0; k++) order = src[from + k]! - src[lastFrom + k]!;
    if (order < 0 || (order === 0 && to - from <= lastTo - lastFrom)) return false;
  }
  KEY_START[level] = from;
  KEY_END[level] = to;
  return true;
}

/** true, false, null, or an integer ECMAScript writes the same: -?(0|[1-9]\d{0,14}), never -0. */
function plainToken(src: Uint8Array, from: number, to: number): boolean {
  const length = to - from;
  const first = src[from]!;
  if (first === 0x74) return length === 4 && src[from + 1] === 0x72 && src[from + 2] === 0x75 && src[from + 3] === 0x65;
  if (first === 0x66)
    return length === 5 && src[from + 1] === 0x61 && src[from + 2] === 0x6c && src[from + 3] === 0x73 && src[from + 4] === 0x65;
  if (first === 0x6e) return length === 4 && src[from + 1] === 0x75 && src[from + 2] === 0x6c && src[from + 3] === 0x6c;
  const digits = first === 0x2d ? from + 1 : from;
  const count = to - digits;
  if (count < 1 || count > 15) return false;
  if (src[digits] === 0x30) return count === 1 && digits === from;
  for (let i = digits; i < to; i++) if (src[i]! < 0x30 || src[i]! > 0x39) return false;
  return true;
}
