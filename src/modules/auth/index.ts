export { authHandlers } from './handlers';
export { AuthService } from './auth-service';
export { LoginLinkService } from './login-link-service';
