import { createInstallToken } from './createInstallToken';
import { bootstrapInstallation } from './bootstrapInstallation';
import { renewInstallationLease } from './renewInstallationLease';
import { refreshInstallationToken } from './refreshInstallationToken';
import { recoverInstallation } from './recoverInstallation';
import { registerInstallationBeacon } from './registerInstallationBeacon';
import { revokeInstallation } from './revokeInstallation';

export const installationsHandlers = { createInstallToken, bootstrapInstallation, renewInstallationLease, refreshInstallationToken, recoverInstallation, registerInstallationBeacon, revokeInstallation };
