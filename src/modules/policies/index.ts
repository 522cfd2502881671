export { policiesHandlers } from './handlers';
export {
  actionMatches,
  canonicalPath,
  type DenyReason,
  type EffectivePolicy,
  evaluatePolicies,
  type GovernedCall,
  type PolicyRules,
  type PolicyVerdict,
} from './policy-evaluator';
export { type AgentGovernance, type PolicyHolders, PolicyService, toEffective } from './policy-service';
/** The statement that reads what governs an agent, for the decisions bench's bare baseline to issue word for word. */
export { GOVERNANCE_OF_AGENT } from './policy-store';
