import { createAgent } from './createAgent';
import { enableAgent } from './enableAgent';
import { getAgent } from './getAgent';
import { killAgent } from './killAgent';
import { listAgents } from './listAgents';
import { proveAgentKey } from './proveAgentKey';
import { recordAgentHeartbeat } from './recordAgentHeartbeat';
import { registerAgent } from './registerAgent';
import { revokeAgent } from './revokeAgent';
import { setAgentPolicies } from './setAgentPolicies';
import { setAgentPublicKey } from './setAgentPublicKey';
import { verifyAgent } from './verifyAgent';

export const agentsHandlers = {
  registerAgent,
  createAgent,
  listAgents,
  getAgent,
  verifyAgent,
  proveAgentKey,
  revokeAgent,
  killAgent,
  enableAgent,
  setAgentPublicKey,
  recordAgentHeartbeat,
  setAgentPolicies,
};
