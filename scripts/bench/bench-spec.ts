import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_DIR } from '../../src/config/paths';

export const CONTENDERS = ['bare-express', 'openapi-backend', 'express-openapi-validator', 'warden'] as const;
export type Contender = (typeof CONTENDERS)[number];
/** The database-backed scenarios' contenders (authenticated-server.ts). */
export const AUTHENTICATED_CONTENDERS = ['bare-express-pg', 'warden'] as const;
export type AuthenticatedContender = (typeof AUTHENTICATED_CONTENDERS)[number];

/** The trivial validated POST every contender serves: same body schema, same answer. */
export const BENCH_PATH = '/api/v1/bench-echo';
export const BENCH_BODY = { name: 'agent-42', count: 7 };
export const echo = (body: { name: string; count: number }) => ({ name: body.name, count: body.count });

const benchOperation = {
  post: {
    operationId: 'benchEcho',
    tags: ['system'],
    summary: 'Benchmark echo',
    description: 'Echoes a validated body.',
    security: [],
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'count'],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 100 },
              count: { type: 'integer', minimum: 1, maximum: 1000 },
            },
          },
        },
      },
    },
    responses: {
      '200': {
        description: 'Echoed.',
        content: {
          'application/json': {
            schema: { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' } } },
          },
        },
      },
      '422': { description: 'Invalid body.' },
    },
  },
};

/**
 * Warden's published spec plus the bench operation; with `padding`, also that many synthetic
 * templated operations, registered *before* the bench path so a linear router scans them all.
 */
export function benchSpec(padding: number): { paths: Record<string, unknown>; [key: string]: unknown } {
  const spec = JSON.parse(readFileSync(join(GENERATED_DIR, 'openapi.json'), 'utf8'));
  const paths: Record<string, unknown> = {};
  for (let index = 0; index < padding; index += 1) {
    paths[`/api/v1/synthetic-${index}/{item_id}`] = {
      get: {
        operationId: `getSynthetic${index}`,
        summary: 'Synthetic',
        description: 'Padding for the benchmark.',
        security: [],
        parameters: [{ name: 'item_id', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } }],
        responses: { '200': { description: 'ok' }, '404': { description: 'absent' } },
      },
    };
  }
  spec.paths = { ...paths, ...spec.paths, [BENCH_PATH]: benchOperation };
  return spec;
}

export function operationIdsOf(spec: { paths: Record<string, unknown> }): string[] {
  return Object.values(spec.paths).flatMap((pathItem) =>
    Object.values(pathItem as Record<string, { operationId?: string }>).flatMap((operation) =>
      operation?.operationId ? [operation.operationId] : [],
    ),
  );
}

/** What the gateway bench's upstream (the vendor) answers to every call. */
export const UPSTREAM_ANSWER = Buffer.from('{"id":"chatcmpl-bench","object":"chat.completion","choices":[]}');
