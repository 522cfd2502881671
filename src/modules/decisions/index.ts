export {
  type CallToDecide,
  DecisionService,
  type GovernedCaller,
  governedCaller,
  type Ruling,
  type Settlement,
} from './decision-service';
export { decisionsHandlers } from './handlers';
