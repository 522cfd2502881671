export { stateHandlers } from './handlers';
export { StateService } from './state-service';
