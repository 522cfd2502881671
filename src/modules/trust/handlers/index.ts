import { verifyTrust } from './verifyTrust';
import { getTrustProfile } from './getTrustProfile';
import { createTrustHeaders } from './createTrustHeaders';
import { getJwks } from './getJwks';

export const trustHandlers = { verifyTrust, getTrustProfile, createTrustHeaders, getJwks };
