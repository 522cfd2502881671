import { completeEmailVerification } from './completeEmailVerification';
import { completeMagicLink } from './completeMagicLink';
import { getCurrentPrincipal } from './getCurrentPrincipal';
import { getMe } from './getMe';
import { login } from './login';
import { logout } from './logout';
import { signup } from './signup';
import { startEmailVerification } from './startEmailVerification';
import { startMagicLink } from './startMagicLink';

export const authHandlers = {
  login,
  logout,
  getCurrentPrincipal,
  signup,
  startMagicLink,
  completeMagicLink,
  startEmailVerification,
  completeEmailVerification,
  getMe,
};
