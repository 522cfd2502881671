import type { components } from './api';

export type ErrorBody = components['schemas']['ErrorResponse'];
export type ErrorCode = components['schemas']['ErrorCode'];

/**
 * A refusal from Warden, carrying its error body: `code` is stable for programs, `message` is
 * for people, `request_id` is what to quote when reporting it.
 */
export class WardenError extends Error {
  override readonly name = 'WardenError';
  readonly status: number;
  readonly error: string;
  readonly code: ErrorCode;
  readonly details: ErrorBody['details'];
  readonly requestId: string;
  /** The whole body, extra fields (e.g. a plan limit's `required_plan`) included. */
  readonly body: ErrorBody & Record<string, unknown>;

  constructor(status: number, body: ErrorBody & Record<string, unknown>) {
    super(body.message);
    this.status = status;
    this.error = body.error;
    this.code = body.code;
    this.details = body.details;
    this.requestId = body.request_id;
    this.body = body;
  }

  /** Builds the error from a failed response's body, also when something other than Warden (a proxy) answered. */
  static from(response: Response, body: unknown): WardenError {
    if (isErrorBody(body)) return new WardenError(response.status, body);
    const text = typeof body === 'string' && body.length > 0 ? body.slice(0, 200) : response.statusText;
    return new WardenError(response.status, {
      error: 'unexpected_response',
      message: `HTTP ${response.status}: ${text}`,
      code: 'INTERNAL_ERROR' as ErrorCode,
      request_id: response.headers.get('x-request-id') ?? '',
    });
  }
}

function isErrorBody(body: unknown): body is ErrorBody & Record<string, unknown> {
  return typeof body === 'object' && body !== null && typeof (body as ErrorBody).code === 'string' && 'message' in body;
}
