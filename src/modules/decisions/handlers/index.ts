import { createDecision } from './createDecision';

export const decisionsHandlers = { createDecision };
