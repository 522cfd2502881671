export { AgentCredentialLookup } from './agent-credentials';
export { decodeSignature, keyProven, verifySignature } from './agent-keys';
export { AgentService, effectiveStatus, keyFingerprint } from './agent-service';
export type { AgentRow } from './agent-store';
export { agentsHandlers } from './handlers';
