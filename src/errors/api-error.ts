import type { components } from '../../generated/api';
import type { ErrorCode } from './codes';

export type ErrorBody = components['schemas']['ErrorResponse'];
export type ErrorDetail = components['schemas']['ErrorDetail'];

/**
 * Every refusal Warden sends is an ApiError: the status, the snake_case kind and the
 * UPPER_SNAKE code travel together so handlers cannot pair a status with the wrong body.
 */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly kind: string;
  readonly headers: Record<string, string> = {};

  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = new.target.name;
  }

  toBody(requestId: string): ErrorBody {
    const body: ErrorBody = { error: this.kind, message: this.message, code: this.code, request_id: requestId };
    if (this.details && this.details.length > 0) body.details = this.details;
    return body;
  }
}

export class BadRequestError extends ApiError {
  readonly status = 400;
  readonly kind = 'invalid_request';
}

export class UnauthorizedError extends ApiError {
  readonly status = 401;
  readonly kind = 'unauthorized';
  constructor(message = 'The credential is missing, invalid, expired or revoked.', code: ErrorCode = 'CREDENTIAL_INVALID') {
    super(message, code);
    this.headers['WWW-Authenticate'] = 'Bearer';
  }
}

export class ForbiddenError extends ApiError {
  readonly status = 403;
  readonly kind = 'forbidden';
}

export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly kind = 'not_found';
}

export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
  readonly kind = 'method_not_allowed';
  constructor(method: string, path: string, allowed: string[]) {
    super(`${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}.`, 'METHOD_NOT_ALLOWED');
    this.headers.Allow = allowed.join(', ');
  }
}

export class RequestTimeoutError extends ApiError {
  readonly status = 408;
  readonly kind = 'request_timeout';
}

export class ConflictError extends ApiError {
  readonly status = 409;
  readonly kind = 'conflict';
}

/** A single-shot value that existed but is gone for good (retrieved once, or expired). */
export class GoneError extends ApiError {
  readonly status = 410;
  readonly kind = 'gone';
}

export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly kind = 'payload_too_large';
  constructor(limitBytes: number) {
    super(`The request body exceeds the ${limitBytes}-byte limit.`, 'PAYLOAD_TOO_LARGE');
  }
}

export class HeadersTooLargeError extends ApiError {
  readonly status = 431;
  readonly kind = 'headers_too_large';
}

export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly kind = 'unsupported_media_type';
}

export class ValidationError extends ApiError {
  readonly status = 422;
  readonly kind = 'validation_failed';
}

export class RateLimitedError extends ApiError {
  readonly status = 429;
  readonly kind = 'rate_limited';
  constructor(
    retryAfterSeconds: number,
    message = `Too many requests; retry in ${retryAfterSeconds} seconds.`,
    /** The limits this request was the first in its window to go over (the refusal worth recording; the rest repeat it). */
    readonly firstOver: Array<{ subject: 'ip' | 'email' | 'org'; limit: number; window_seconds: number }> = [],
  ) {
    super(message, 'RATE_LIMITED');
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

export class InternalError extends ApiError {
  readonly status = 500;
  readonly kind = 'internal_error';
  constructor() {
    super('An unexpected error occurred. Quote the request id when reporting it.', 'INTERNAL_ERROR');
  }
}

/** An outside service Warden called for the request (a SIEM intake, a vendor) failed or could not be reached. */
export class BadGatewayError extends ApiError {
  readonly status = 502;
  readonly kind = 'bad_gateway';
}

/** An outside service Warden called for the request (a vendor behind the gateway) did not answer in time. */
export class GatewayTimeoutError extends ApiError {
  readonly status = 504;
  readonly kind = 'gateway_timeout';
}

export class ServiceUnavailableError extends ApiError {
  readonly status = 503;
  readonly kind = 'service_unavailable';
}

/** Warden's own database refused, dropped or did not hand out a connection in time: worth retrying, not a bug. */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(retryAfterSeconds = 5) {
    super('The database did not answer in time (unreachable, or every connection busy); retry in a few seconds.', 'DATABASE_UNAVAILABLE');
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** The gateway refused a call for policy or budget: the error shape plus why, and which policy version decided. */
export class GatewayDeniedError extends ForbiddenError {
  constructor(
    message: string,
    code: 'POLICY_DENIED' | 'BUDGET_EXCEEDED',
    private readonly ruling: { denyReason: string | null; policyId: string | null; policyVersion: number | null; budgetResetsAt?: Date },
  ) {
    super(message, code);
  }

  override toBody(requestId: string): ErrorBody {
    const { denyReason, policyId, policyVersion, budgetResetsAt } = this.ruling;
    return {
      ...super.toBody(requestId),
      deny_reason: denyReason,
      policy_id: policyId,
      policy_version: policyVersion,
      ...(budgetResetsAt ? { budget_resets_at: budgetResetsAt.toISOString() } : {}),
    } as ErrorBody;
  }
}
