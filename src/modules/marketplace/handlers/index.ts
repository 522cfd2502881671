import { getPublicTxStats } from './getPublicTxStats';
import { getTxStats } from './getTxStats';
import { hireAgent } from './hireAgent';

export const marketplaceHandlers = { hireAgent, getTxStats, getPublicTxStats };
