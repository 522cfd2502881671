export { vendorsHandlers } from './handlers';
export { applyVendorCredential, type VendorUpstream } from './vendor-auth';
export { VendorService } from './vendor-service';
