import { createTrustHeaders } from './createTrustHeaders';
import { getJwks } from './getJwks';
import { getTrustProfile } from './getTrustProfile';
import { verifyTrust } from './verifyTrust';

export const trustHandlers = { verifyTrust, getTrustProfile, createTrustHeaders, getJwks };
