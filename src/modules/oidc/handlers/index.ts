import { completeOidcLogin } from './completeOidcLogin';
import { getOidcStatus } from './getOidcStatus';
import { startOidcLogin } from './startOidcLogin';

export const oidcHandlers = { getOidcStatus, startOidcLogin, completeOidcLogin };
