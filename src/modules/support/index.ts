export { supportHandlers } from './handlers';
export { SLA_HOURS, SupportService } from './support-service';
