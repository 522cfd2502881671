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
export { type PolicyHolders, PolicyService, toEffective } from './policy-service';
/** The statement that reads an agent's governing policies, for the decisions bench's bare baseline to issue word for word. */
export { EFFECTIVE_FOR_AGENT } from './policy-store';
