import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorObject } from 'ajv';
import { BadRequestError, type ErrorDetail, ValidationError } from '../errors/api-error';
import type { BoundOperation } from './operation-table';
import { normaliseDateTimes, unstorableString } from './safe-input';
import type { OperationValidators } from './spec-validators';

export interface RawRequestInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** False when the body's JSON text cannot hold an unstorable value (no `\u` escape, no overflowing number). */
  bodyNeedsScreening: boolean;
}

export interface ValidatedInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

const LOCATIONS: Record<string, ErrorDetail['location']> = {
  path: 'path',
  query: 'query',
  header: 'header',
  requestBody: 'body',
};

/**
 * Runs the operation's validators (generated code for the published spec) over one object
 * `{ path, query, header, cookie, requestBody }`, the shape those validators expect.
 * Parameter failures are the caller's malformed request (400); body failures are 422 with one
 * detail per failing field. Strings Postgres cannot store fail the same way, wherever they are.
 * Query values come back coerced to their schema types, with defaults, and date-times in UTC.
 */
export function validateRequest(operation: BoundOperation, validators: OperationValidators, input: RawRequestInput): ValidatedInput {
  const query = normaliseArrayQueryParameters(operation, input.query);
  const candidate: Record<string, unknown> = {
    path: { ...input.params },
    query,
    header: operation.hasHeaderParameters ? { ...input.headers } : input.headers,
    cookie: {},
  };
  if (input.body !== undefined) candidate.requestBody = input.body;

  // Checked before the schemas: a string Postgres cannot store is refused whatever else is wrong.
  const unstorable =
    unstorableString(input.params, 'path') ??
    unstorableString(query, 'query') ??
    (input.bodyNeedsScreening ? unstorableString(input.body, 'body') : undefined);
  if (unstorable) throw refusal([unstorable]);
  const errors: ErrorObject[] = [];
  if (validators.body && !validators.body(candidate)) errors.push(...(validators.body.errors ?? []));
  if (!validators.parameters(candidate)) errors.push(...(validators.parameters.errors ?? []));
  if (errors.length > 0) throw refusal(uniqueDetails(errors.map(toDetail)));
  const badQuery = normaliseDateTimes(candidate, 'query', operation.dateTimes.query);
  if (badQuery) throw refusal([outOfRange('query', badQuery)]);
  const badBody = normaliseDateTimes(candidate, 'requestBody', operation.dateTimes.body);
  if (badBody) throw refusal([outOfRange('body', badBody)]);
  return { params: candidate.path as Record<string, unknown>, query, body: candidate.requestBody };
}

const outOfRange = (location: ErrorDetail['location'], path: string[]): ErrorDetail => ({
  location,
  field: path.join('/'),
  message: 'must be a date-time from year 0001 to 9999, without a leap second',
  rule: 'format',
});

/** Parameter problems are a malformed request (400); body problems are 422, one detail per field. */
function refusal(details: ErrorDetail[]): Error {
  const parameterDetails = details.filter((detail) => detail.location !== 'body');
  if (parameterDetails.length > 0) {
    const [first] = parameterDetails;
    return new BadRequestError(
      `${capitalise(first!.location)} parameter '${first!.field}' ${first!.message}.`,
      'INVALID_PARAMETER',
      parameterDetails,
    );
  }
  const whole = details.find((detail) => detail.field === '' && detail.rule === 'required');
  return new ValidationError(
    whole ? 'This operation requires a JSON request body.' : `The request body failed validation (${plural(details.length, 'problem')}).`,
    whole ? 'BODY_REQUIRED' : 'VALIDATION_FAILED',
    details,
  );
}

function normaliseArrayQueryParameters(operation: BoundOperation, raw: Record<string, unknown>): Record<string, unknown> {
  const query: Record<string, unknown> = { ...raw };
  for (const [name, style] of operation.arrayQueryParameters) {
    const value = query[name];
    if (typeof value !== 'string') continue;
    query[name] = style === 'comma' ? value.split(',') : [value];
  }
  return query;
}

function toDetail(error: ErrorObject): ErrorDetail {
  // instancePath looks like `/requestBody/members/0/role` or `/query/limit`.
  const [, root = '', ...rest] = error.instancePath.split('/');
  let location = LOCATIONS[root];
  let fieldParts = rest.map(unescapePointer);
  if (location === undefined) {
    // Errors on the envelope itself: a required location or a missing request body.
    const missing = (error.params as { missingProperty?: string }).missingProperty;
    location = missing === 'requestBody' ? 'body' : (LOCATIONS[missing ?? ''] ?? 'body');
    fieldParts = [];
  }
  let message = error.message ?? 'is invalid';
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      if (location !== 'body' || missing !== 'requestBody') fieldParts.push(missing);
      message = 'is required';
      break;
    }
    case 'additionalProperties':
      fieldParts.push((error.params as { additionalProperty: string }).additionalProperty);
      message = location === 'body' ? 'is not a known field' : 'is not a known parameter';
      break;
    case 'enum':
      message = `must be one of: ${(error.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}`;
      break;
    case 'format':
      message = `must be a valid ${(error.params as { format: string }).format}`;
      break;
  }
  return { location, field: fieldParts.join('/'), message, rule: error.keyword };
}

function uniqueDetails(details: ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return details
    .filter((detail) => {
      const key = `${detail.location}|${detail.field}|${detail.rule}|${detail.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, 100);
}

const unescapePointer = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');
const capitalise = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
