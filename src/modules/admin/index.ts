export { adminHandlers } from './handlers';
export { AdminService } from './admin-service';
