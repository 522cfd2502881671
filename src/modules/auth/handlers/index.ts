import { login } from './login';
import { logout } from './logout';
import { getCurrentPrincipal } from './getCurrentPrincipal';

export const authHandlers = { login, logout, getCurrentPrincipal };
