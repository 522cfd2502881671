import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import publishedSpec from '../../generated/openapi.json';
import type { LoadedSpec } from '../../src/binding/loaded-spec';
import { RouteMatcher } from '../../src/binding/route-matcher';
import { ERROR_CODES } from '../../src/errors/codes';

export interface CoverageRecord {
  operationId: string;
  status: number;
}

/**
 * Checks a response against the spec the app serves: the status must be documented for the
 * operation, the content type must be the documented one, and the body must match its schema.
 * Responses to unrouted requests (404/405) must still carry the documented error body. With
 * `recordCoverage`, each (operationId, status) seen is appended for the suite's coverage check.
 */
export class ContractChecker {
  constructor(
    private readonly spec: LoadedSpec,
    private readonly recordCoverage: boolean,
    private readonly matcher = new RouteMatcher(spec.operations),
  ) {}

  check(method: string, url: string, res: Response): void {
    const where = `${method} ${url} → ${res.status}`;
    const requestId = res.headers['x-request-id'];
    assert.ok(requestId, `${where}: every response carries X-Request-Id`);
    if (res.status >= 400 && res.body && typeof res.body === 'object' && 'error' in res.body) {
      assert.equal(res.body.request_id, requestId, `${where}: the error body repeats the request id`);
      assertCatalogued(res.body.code, res.status, where);
    }

    const path = new URL(url, 'http://x').pathname;
    let match: ReturnType<RouteMatcher['match']>;
    try {
      match = this.matcher.match(method.toUpperCase(), path);
    } catch {
      match = { kind: 'not-found' as const };
    }
    if (match.kind !== 'operation') {
      assert.ok([400, 404, 405].includes(res.status), `${where}: an unrouted request answers 400, 404 or 405`);
      assertErrorBody(res.body, where);
      return;
    }
    const { operationId, responses } = match.operation;
    const contentTypes = responses.get(String(res.status)) ?? responses.get('default');
    assert.ok(contentTypes, `${where}: status ${res.status} is not documented for ${operationId}`);
    if (this.recordCoverage && process.env.WARDEN_COVERAGE_DIR) {
      const record: CoverageRecord = { operationId, status: res.status };
      appendFileSync(join(process.env.WARDEN_COVERAGE_DIR, `${process.pid}.jsonl`), `${JSON.stringify(record)}\n`);
    }

    if (contentTypes.length === 0 || method.toUpperCase() === 'HEAD') return;
    assert.ok(
      contentTypes.some((type) => res.type === type || type === '*/*'),
      `${where}: content type ${res.type} is not the documented ${contentTypes.join(' or ')}`,
    );
    if (res.type.includes('json')) {
      const { valid, errors } = this.spec.responseValidator.validate(operationId, res.status, res.body);
      assert.ok(valid, `${where}: body does not match the spec: ${JSON.stringify(errors)}`);
    }
  }
}

/** The code is in the catalog (src/errors/codes.ts), which gives it this very status. */
export function assertCatalogued(code: unknown, status: number, where: string): void {
  const entry = Object.hasOwn(ERROR_CODES, String(code)) ? ERROR_CODES[code as keyof typeof ERROR_CODES] : undefined;
  assert.ok(entry, `${where}: code ${String(code)} is not in the error-code catalog`);
  assert.equal(entry.status, status, `${where}: the catalog gives ${String(code)} status ${entry.status}`);
}

/** Every error leaves Warden in the same documented shape (the bundled `Error` schema). */
export function assertErrorBody(body: unknown, where = 'error body'): void {
  assert.ok(validateErrorBody(body), `${where}: not the documented error body: ${JSON.stringify(validateErrorBody.errors)}`);
}

const validateErrorBody = (() => {
  const schemaAjv = new Ajv({ allErrors: true, strict: false });
  addFormats(schemaAjv);
  schemaAjv.addSchema({ $id: 'warden', components: (publishedSpec as { components: object }).components });
  return schemaAjv.compile({ $ref: 'warden#/components/schemas/ErrorResponse' });
})();
