export { trustHandlers } from './handlers';
export { TrustService } from './trust-service';
