import { getStateSnapshot } from './getStateSnapshot';

export const stateHandlers = { getStateSnapshot };
