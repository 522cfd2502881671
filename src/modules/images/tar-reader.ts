import { Writable } from 'node:stream';

/** One member of a tar archive, with its long name (pax `path`, GNU `L`) already applied. */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  size: number;
  linkname: string;
}

/** What the reader asks its caller about each member, and hands back the bytes of those it keeps. */
export interface TarVisitor {
  /** How many bytes of a regular file to keep (its whole content if it fits), or 0 to skip it. */
  entry(entry: TarEntry): number;
  file(entry: TarEntry, content: Buffer): void;
}

export class TarFormatError extends Error {}

const BLOCK = 512;
/** pax headers and GNU long names are small; larger ones are not a tar archive Warden reads. */
const MAX_META_BYTES = 1024 * 1024;

type State =
  | { kind: 'header' }
  | { kind: 'body'; entry: TarEntry | null; meta: string | null; remaining: number; keep: number; parts: Buffer[]; padding: number }
  | { kind: 'padding'; remaining: number }
  | { kind: 'end' };

/** A C string of a header field: up to the first NUL. */
const cstring = (block: Buffer, start: number, length: number) => {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
};

/** A numeric field: octal text, or (GNU, for large values) base-256 big-endian when the top bit is set. */
function numeric(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError('the layer is not a tar archive (a header has a malformed number)');
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === numeric(block, 148, 8);
}

/** pax extended header records: `<length> <key>=<value>\n`. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.subarray(offset, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      throw new TarFormatError('the layer has a malformed pax header');
    }
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return records;
}

/** `./a//b/` → `a/b`: paths as the image's file system knows them, relative to its root. */
export function normalizePath(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/**
 * A streaming tar reader (ustar, pax extended headers, GNU long names and base-256 sizes): it
 * reads headers as the bytes arrive and keeps only the file contents the visitor asks for, so
 * memory stays bounded by what is kept, whatever the archive's size. A header whose checksum does
 * not add up, or an archive that stops inside a member, fails the stream.
 */
export class TarReader extends Writable {
  private state: State = { kind: 'header' };
  private header = Buffer.alloc(0);
  private zeroBlocks = 0;
  private pax: Record<string, string> = {};
  private longName: string | null = null;
  private longLink: string | null = null;

  constructor(private readonly visitor: TarVisitor) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    try {
      this.consume(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _final(done: (error?: Error | null) => void): void {
    const { state } = this;
    if (state.kind === 'body' || (state.kind === 'header' && this.header.length > 0)) {
      done(new TarFormatError('the archive ends in the middle of a member'));
      return;
    }
    done();
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const state = this.state;
      if (state.kind === 'end') return;
      if (state.kind === 'header') {
        const take = Math.min(BLOCK - this.header.length, chunk.length - offset);
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (this.header.length === BLOCK) {
          const block = this.header;
          this.header = Buffer.alloc(0);
          this.onHeader(block);
        }
      } else if (state.kind === 'padding') {
        const take = Math.min(state.remaining, chunk.length - offset);
        state.remaining -= take;
        offset += take;
        if (state.remaining === 0) this.state = { kind: 'header' };
      } else {
        const take = Math.min(state.remaining, chunk.length - offset);
        if (state.keep > 0) state.parts.push(chunk.subarray(offset, offset + take));
        state.remaining -= take;
        offset += take;
        if (state.remaining === 0) this.onBody(state);
      }
    }
  }

  private onHeader(block: Buffer): void {
    if (block.every((byte) => byte === 0)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = { kind: 'end' };
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(block)) throw new TarFormatError('the layer is not a tar archive (a header checksum does not add up)');
    const typeflag = String.fromCharCode(block[156]!);
    const magic = block.subarray(257, 263).toString('latin1');
    const prefix = magic === 'ustar\0' ? cstring(block, 345, 155) : '';
    const name = cstring(block, 0, 100);
    let size = numeric(block, 124, 12);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if ('xgLK'.includes(typeflag)) {
      if (size > MAX_META_BYTES) throw new TarFormatError(`a tar extended header is ${size} bytes, over ${MAX_META_BYTES}`);
      this.state = { kind: 'body', entry: null, meta: typeflag, remaining: size, keep: size, parts: [], padding };
      if (size === 0) this.onBody(this.state);
      return;
    }
    if (this.pax.size !== undefined) {
      size = Number(this.pax.size);
      if (!/^\d+$/.test(this.pax.size) || !Number.isSafeInteger(size)) throw new TarFormatError('a pax header has a malformed size');
    }
    const entry: TarEntry = {
      path: normalizePath(this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${name}` : name)),
      type: typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other',
      size,
      linkname: this.pax.linkpath ?? this.longLink ?? cstring(block, 157, 100),
    };
    if (typeflag === '2') entry.type = 'symlink';
    if (typeflag === '1') entry.type = 'hardlink';
    this.pax = {};
    this.longName = null;
    this.longLink = null;
    const wanted = this.visitor.entry(entry);
    const keep = entry.type === 'file' ? wanted : 0;
    const bodyPadding = (BLOCK - (size % BLOCK)) % BLOCK;
    const hasBody = entry.type === 'file' || entry.type === 'other';
    this.state = {
      kind: 'body',
      entry,
      meta: null,
      remaining: hasBody ? size : 0,
      keep: keep >= size ? keep : 0,
      parts: [],
      padding: hasBody ? bodyPadding : 0,
    };
    if (!hasBody || size === 0) this.onBody(this.state);
  }

  private onBody(state: Extract<State, { kind: 'body' }>): void {
    const data = state.parts.length === 1 ? state.parts[0]! : Buffer.concat(state.parts);
    if (state.meta === 'x') this.pax = paxRecords(data);
    else if (state.meta === 'L') this.longName = cstring(data, 0, data.length);
    else if (state.meta === 'K') this.longLink = cstring(data, 0, data.length);
    else if (state.entry && state.keep > 0) this.visitor.file(state.entry, Buffer.from(data));
    this.state = state.padding > 0 ? { kind: 'padding', remaining: state.padding } : { kind: 'header' };
  }
}
