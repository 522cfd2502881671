/**
 * The error-code catalog (src/errors/codes.ts) and the spec's `ErrorCode` schema say the same
 * thing, and an answer carrying a code outside the catalog fails the contract check.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import publishedSpec from '../generated/openapi.json';
import { PLANS } from '../src/auth/plans';
import { loadCompiledSpec } from '../src/binding/loaded-spec';
import { ERROR_CODES, type ErrorCode } from '../src/errors/codes';
import { assertErrorBody, ContractChecker } from './support/contract-checker';

interface EnumSchema {
  enum: string[];
  'x-enumDescriptions': Record<string, string>;
}

type Schema = EnumSchema & { properties: { code: { $ref: string } } };
const schemas = (publishedSpec as unknown as { components: { schemas: Record<string, Schema> } }).components.schemas;
const specCodes = schemas.ErrorCode!;
const catalog = Object.entries(ERROR_CODES) as Array<[ErrorCode, { status: number; meaning: string }]>;

describe('the error-code catalog', () => {
  it('lists exactly the codes of the spec enum', () => {
    assert.deepEqual([...specCodes.enum].sort(), catalog.map(([code]) => code).sort());
  });

  it('documents each code in the spec with its catalog status and meaning', () => {
    const expected = Object.fromEntries(catalog.map(([code, { status, meaning }]) => [code, `${status} — ${meaning}`]));
    assert.deepEqual(specCodes['x-enumDescriptions'], expected);
  });

  it('types the code of ErrorResponse and PlanLimitError as the catalog', () => {
    for (const name of ['ErrorResponse', 'PlanLimitError']) {
      assert.equal(schemas[name]!.properties.code.$ref, '#/components/schemas/ErrorCode');
    }
  });

  it('holds the 402 codes the plans make: one per plan feature an operation needs and one per quota', () => {
    const paths = Object.values(publishedSpec.paths as Record<string, Record<string, { 'x-plan-feature'?: string }>>);
    const features = paths.flatMap(Object.values).flatMap((operation) => operation['x-plan-feature'] ?? []);
    const planCodes = [
      ...new Set(features.map((feature) => `${feature.toUpperCase()}_REQUIRES_UPGRADE`)),
      ...Object.keys(PLANS[0]!.quotas).map((quota) => `${quota.toUpperCase()}_LIMIT_REACHED`),
    ];
    assert.deepEqual(
      planCodes.filter((code) => ERROR_CODES[code as ErrorCode]?.status !== 402),
      [],
    );
    assert.deepEqual(
      catalog.filter(([code, { status }]) => status === 402 && !planCodes.includes(code)).map(([code]) => code),
      [],
    );
  });

  it('is written as UPPER_SNAKE codes with one-line meanings', () => {
    for (const [code, { status, meaning }] of catalog) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/);
      assert.ok(status >= 400 && status <= 599, `${code}: status ${status}`);
      assert.ok(meaning.length > 0 && !meaning.includes('\n'), `${code}: meaning`);
    }
  });
});

describe('an answer with a code outside the catalog', () => {
  const body = (code: string) => ({ error: 'not_found', message: 'No route matches GET /nowhere.', code, request_id: 'req_1' });
  const response = (status: number, code: string) =>
    ({ status, type: 'application/json', headers: { 'x-request-id': 'req_1' }, body: body(code) }) as unknown as Response;

  it('is not the documented error body', () => {
    assertErrorBody(body('ROUTE_NOT_FOUND'));
    assert.throws(() => assertErrorBody(body('NO_SUCH_CODE')), /not the documented error body/);
  });

  let checker: ContractChecker;
  before(async () => {
    checker = new ContractChecker(loadCompiledSpec(publishedSpec), false);
  });

  it('fails the contract check, as does a catalogued code with another status', () => {
    checker.check('get', '/nowhere', response(404, 'ROUTE_NOT_FOUND'));
    assert.throws(() => checker.check('get', '/nowhere', response(404, 'NO_SUCH_CODE')), /not in the error-code catalog/);
    assert.throws(() => checker.check('get', '/nowhere', response(404, 'RATE_LIMITED')), /gives RATE_LIMITED status 429/);
  });
});
