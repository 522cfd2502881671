export { oidcHandlers } from './handlers';
export { OidcService } from './oidc-service';
