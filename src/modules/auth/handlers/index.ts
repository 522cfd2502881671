import { login } from './login';
import { logout } from './logout';
import { getCurrentPrincipal } from './getCurrentPrincipal';
import { signup } from './signup';
import { startMagicLink } from './startMagicLink';
import { completeMagicLink } from './completeMagicLink';
import { startEmailVerification } from './startEmailVerification';
import { completeEmailVerification } from './completeEmailVerification';

export const authHandlers = { login, logout, getCurrentPrincipal, signup, startMagicLink, completeMagicLink, startEmailVerification, completeEmailVerification };
