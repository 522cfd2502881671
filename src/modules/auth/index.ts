export { AuthService, type LinkOutcome } from './auth-service';
export { authHandlers } from './handlers';
export { LoginLinkService } from './login-link-service';
