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
export { type PolicyHolders, PolicyService } from './policy-service';
