export { vendorsHandlers } from './handlers';
export { applyVendorCredential, type VendorUpstream } from './vendor-auth';
export { VendorService, vendorNotFound } from './vendor-service';
