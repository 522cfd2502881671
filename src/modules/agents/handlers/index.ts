import { registerAgent } from './registerAgent';
import { createAgent } from './createAgent';
import { listAgents } from './listAgents';
import { getAgent } from './getAgent';
import { verifyAgent } from './verifyAgent';
import { proveAgentKey } from './proveAgentKey';
import { revokeAgent } from './revokeAgent';
import { killAgent } from './killAgent';
import { enableAgent } from './enableAgent';
import { setAgentPublicKey } from './setAgentPublicKey';
import { recordAgentHeartbeat } from './recordAgentHeartbeat';

export const agentsHandlers = { registerAgent, createAgent, listAgents, getAgent, verifyAgent, proveAgentKey, revokeAgent, killAgent, enableAgent, setAgentPublicKey, recordAgentHeartbeat };
