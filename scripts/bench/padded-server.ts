/**
 * Warden's server with the published spec padded by synthetic operations, for the start-up bench:
 * `node scripts/start.js scripts/bench/padded-server.ts` with WARDEN_BENCH_SPEC_DIR naming a folder
 * that startup.ts filled as generate fills generated/ (openapi.json, docs, binding/).
 */
import { join } from 'node:path';
import type { AnyHandler } from '../../src/binding/handler-types';
import { handlers as wardenHandlers } from '../../src/modules';
import { loadContractDocuments } from '../../src/modules/system';
import { startServer } from '../../src/server';
import { operationIdsOf } from './bench-spec';

const folder = process.env.WARDEN_BENCH_SPEC_DIR!;
const contract = loadContractDocuments(folder);
const absent = (() => ({ status: 404 })) as AnyHandler;
const handlers = Object.fromEntries(
  operationIdsOf(contract.json as { paths: Record<string, unknown> }).map((operationId) => [
    operationId,
    (wardenHandlers as Record<string, AnyHandler>)[operationId] ?? absent,
  ]),
);
startServer({ contract, compiledDir: join(folder, 'binding'), handlers });
