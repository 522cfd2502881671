import type { ErrorObject, ValidateFunction } from 'ajv';
import type { IncomingHttpHeaders } from 'node:http';
import { BadRequestError, ValidationError, type ErrorDetail } from '../errors/api-error';
import type { BoundOperation } from './operation-table';

export interface RawRequestInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  body: unknown;
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
 * Runs the Ajv validators openapi-backend compiled for each operation at start-up over one
 * object `{ path, query, header, cookie, requestBody }`, the shape those validators expect.
 * Parameter failures are the caller's malformed request (400); body failures are 422 with one
 * detail per failing field. Query values come back coerced to their schema types, with defaults.
 */
export function validateRequest(
  operation: BoundOperation,
  validators: ValidateFunction[],
  input: RawRequestInput,
): ValidatedInput {
  const query = normaliseArrayQueryParameters(operation, input.query);
  const candidate: Record<string, unknown> = {
    path: { ...input.params },
    query,
    header: operation.hasHeaderParameters ? { ...input.headers } : input.headers,
    cookie: {},
  };
  if (input.body !== undefined) candidate.requestBody = input.body;

  const errors: ErrorObject[] = [];
  for (const validate of validators) {
    if (!validate(candidate) && validate.errors) errors.push(...validate.errors);
  }
  if (errors.length > 0) {
    const details = uniqueDetails(errors.map(toDetail));
    const parameterDetails = details.filter((detail) => detail.location !== 'body');
    if (parameterDetails.length > 0) {
      const [first] = parameterDetails;
      throw new BadRequestError(
        `${capitalise(first!.location)} parameter '${first!.field}' ${first!.message}.`,
        'INVALID_PARAMETER',
        parameterDetails,
      );
    }
    const whole = details.find((detail) => detail.field === '' && detail.rule === 'required');
    throw new ValidationError(
      whole ? 'This operation requires a JSON request body.' : `The request body failed validation (${plural(details.length, 'problem')}).`,
      whole ? 'BODY_REQUIRED' : 'VALIDATION_FAILED',
      details,
    );
  }
  return { params: candidate.path as Record<string, unknown>, query, body: candidate.requestBody };
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
    location = missing === 'requestBody' ? 'body' : LOCATIONS[missing ?? ''] ?? 'body';
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
  return details.filter((detail) => {
    const key = `${detail.location}|${detail.field}|${detail.rule}|${detail.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).slice(0, 100);
}

const unescapePointer = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');
const capitalise = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
