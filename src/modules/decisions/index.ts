export {
  type CallToDecide,
  DecisionService,
  type GovernedCaller,
  governedCaller,
  MICROS_PER_USD,
  type Ruling,
  type Settlement,
  toMicros,
  toUsd,
} from './decision-service';
export { decisionsHandlers } from './handlers';
