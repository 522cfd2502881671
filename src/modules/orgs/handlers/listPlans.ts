import { PLANS } from '../../../auth/plans';
import type { Handler } from '../../handler';

export const listPlans: Handler<'listPlans'> = () => ({ status: 200, body: { plans: [...PLANS] } });
