export { agentsHandlers } from './handlers';
export { AgentCredentialLookup } from './agent-credentials';
export { decodeSignature, keyProven, verifySignature } from './agent-keys';
export { AGENT_STOPPED_SQL, type AgentRow, AgentService, effectiveStatus, keyFingerprint } from './agent-service';
