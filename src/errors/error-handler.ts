import type { ErrorRequestHandler } from 'express';
import { isDatabaseUnavailable } from '../db/errors';
import {
  ApiError,
  BadRequestError,
  DatabaseUnavailableError,
  InternalError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './api-error';

/** The fields body-parser sets on the errors it raises. */
interface BodyParserError {
  type: string;
  limit?: number;
  charset?: string;
  encoding?: string;
}

/**
 * zlib's errors when a body declared gzip, deflate or br is not: Z_DATA_ERROR and friends from
 * gzip/deflate, ERR__ERROR_FORMAT_… and the like from Brotli (`ERR_` plus an empty module name).
 */
function isDecompressionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__'));
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && typeof (error as { type?: unknown }).type === 'string';
}

/** Turns what body-parsing and handlers throw into the documented error types. */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailableError();
  if (isDecompressionError(error)) {
    return new BadRequestError('The request body does not decode as its Content-Encoding says.', 'MALFORMED_CONTENT_ENCODING');
  }
  if (!isBodyParserError(error)) return undefined;
  switch (error.type) {
    case 'entity.parse.failed':
      return new BadRequestError('The request body is not valid JSON.', 'MALFORMED_JSON');
    case 'entity.too.large':
      return new PayloadTooLargeError(error.limit ?? 0);
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError(`Unsupported charset "${error.charset}"; send UTF-8.`, 'UNSUPPORTED_CHARSET');
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError(`Unsupported content encoding "${error.encoding}".`, 'UNSUPPORTED_ENCODING');
    case 'request.aborted':
    case 'request.size.invalid':
      return new BadRequestError('The request body was incomplete.', 'INCOMPLETE_BODY');
    default:
      return undefined;
  }
}

/**
 * The last middleware: every error leaves here in the documented body, with the request id.
 * Unexpected errors are logged by name and message only (the stack at debug level), and the
 * client sees a generic 500: neither stack traces nor internal messages reach a response.
 */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  const apiError = toApiError(error) ?? new InternalError();
  if (apiError instanceof InternalError) {
    const cause = error instanceof Error ? error : new Error(String(error));
    req.log.error({ err_name: cause.name, err_message: cause.message }, 'unhandled error');
    req.log.debug({ stack: cause.stack }, 'unhandled error stack');
  } else if (apiError instanceof DatabaseUnavailableError) {
    req.log.error({ err_message: error instanceof Error ? error.message : String(error) }, 'database unavailable');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res
    .status(apiError.status)
    .set(apiError.headers)
    .json(apiError.toBody(String(req.id)));
};
