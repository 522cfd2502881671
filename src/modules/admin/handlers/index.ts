import { requestAdminPin } from './requestAdminPin';
import { verifyAdminPin } from './verifyAdminPin';

export const adminHandlers = { requestAdminPin, verifyAdminPin };
