export { AdminService } from './admin-service';
export { adminHandlers } from './handlers';
