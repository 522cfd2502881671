export type { components, operations, paths } from './api';
export { canonicalJson } from './canonical-json';
export {
  createWardenClient,
  type ItemOf,
  idempotencyKey,
  type PaginatedPath,
  type PaginateInit,
  unwrap,
  type WardenClient,
  type WardenClientOptions,
} from './client';
export { type ErrorBody, type ErrorCode, WardenError } from './errors';
export { type RetryOptions, retryAfterMs } from './retry';
export {
  AgentRuntime,
  type AgentRuntimeOptions,
  type InstallationCredentials,
  type Lease,
  type ShutdownCommand,
  startAgentRuntime,
} from './runtime';
export { createTrustVerifier, sha256Hex, signTrustContext, signTrustHeaders, type TrustHeaders, type TrustVerdict } from './trust';
export { SDK_VERSION } from './version';
