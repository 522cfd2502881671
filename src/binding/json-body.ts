import { isUtf8 } from 'node:buffer';
import express, { type Request, type Response } from 'express';
import { BadRequestError, PayloadTooLargeError } from '../errors/api-error';
import { MAX_JSON_DEPTH, scanJsonText } from './safe-input';

/** What the binding learns from a JSON body besides its value. */
export interface JsonBody {
  value: unknown;
  /** Whether the text could hold a value Postgres cannot store (see scanJsonText). */
  needsScreening: boolean;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
/** Strict JSON, as body-parser's `strict`: the top-level value is an object or an array. */
const FIRST_STRICT_CHARACTER = /^[ \t\n\r]*[[{]/;

/**
 * Reads a request's JSON body. The common case — no Content-Encoding — is read here in one pass
 * (collect, check, parse), without body-parser's per-request decoder and content-type parsing:
 * the binding has already checked the media type and charset. A compressed body goes through
 * body-parser, which inflates it under the same limit; either way the text is checked the same.
 */
export function jsonBodyReader(limitBytes: number): (req: Request, res: Response) => Promise<JsonBody> {
  const inflating = express.json({
    limit: limitBytes,
    strict: true,
    type: () => true,
    verify: (req, _res, raw) => {
      (req as Request).bodyNeedsScreening = check(raw).mayHoldUnstorable;
    },
  });
  return (req, res) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      return new Promise((resolve, reject) =>
        inflating(req, res, (error?: unknown) => (error ? reject(error) : resolve(screened(req.body, req.bodyNeedsScreening === true)))),
      );
    }
    return readIdentity(req, limitBytes).then(parse);
  };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set while body-parser reads a compressed body: what check() found in its text. */
    bodyNeedsScreening?: boolean;
  }
}

const screened = (value: unknown, needsScreening: boolean): JsonBody => ({ value, needsScreening });

/** JSON text is UTF-8 (RFC 8259); a decoder would otherwise store U+FFFD in place of the bad bytes. */
function check(raw: Buffer): { mayHoldUnstorable: boolean } {
  if (!isUtf8(raw)) throw new BadRequestError('The request body is not valid UTF-8.', 'MALFORMED_JSON');
  return scanJsonText(
    raw,
    MAX_JSON_DEPTH,
    () => new BadRequestError(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`, 'JSON_TOO_DEEP'),
  );
}

function parse(raw: Buffer): JsonBody {
  const { mayHoldUnstorable } = check(raw);
  const start = raw[0] === UTF8_BOM[0] && raw[1] === UTF8_BOM[1] && raw[2] === UTF8_BOM[2] ? 3 : 0;
  const text = raw.toString('utf8', start);
  // An empty chunked body reads as {} (body-parser's answer); any other text must be strict JSON.
  if (text.length === 0) return screened({}, false);
  if (!FIRST_STRICT_CHARACTER.test(text)) throw malformed();
  try {
    return screened(JSON.parse(text), mayHoldUnstorable);
  } catch {
    throw malformed();
  }
}

const ignore = () => {};
const malformed = () => new BadRequestError('The request body is not valid JSON.', 'MALFORMED_JSON');
const incomplete = () => new BadRequestError('The request body was incomplete.', 'INCOMPLETE_BODY');

/**
 * The body's bytes, refused early when its declared length is over the limit and as soon as the
 * bytes read pass it; what is left of a refused body is drained so the answer can be read.
 */
function readIdentity(req: Request, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && declared > limitBytes) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError(limitBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: Error | undefined) => {
      req.off('data', onData).off('end', onEnd).off('aborted', onAborted).off('error', onError);
      if (!error) {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
        return;
      }
      // The rest is drained unread; a late socket error must not go unheard.
      req.on('error', ignore).resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) finish(new PayloadTooLargeError(limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(declared !== undefined && received !== declared ? incomplete() : undefined);
    const onAborted = () => finish(incomplete());
    const onError = () => finish(incomplete());
    req.on('data', onData).on('end', onEnd).on('aborted', onAborted).on('error', onError);
  });
}
