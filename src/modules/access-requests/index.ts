export { type AccessRequest, AccessRequestService } from './access-request-service';
export { accessRequestsHandlers } from './handlers';
