import { bootstrapInstallation } from './bootstrapInstallation';
import { createInstallToken } from './createInstallToken';
import { recoverInstallation } from './recoverInstallation';
import { refreshInstallationToken } from './refreshInstallationToken';
import { registerInstallationBeacon } from './registerInstallationBeacon';
import { renewInstallationLease } from './renewInstallationLease';
import { revokeInstallation } from './revokeInstallation';

export const installationsHandlers = {
  createInstallToken,
  bootstrapInstallation,
  renewInstallationLease,
  refreshInstallationToken,
  recoverInstallation,
  registerInstallationBeacon,
  revokeInstallation,
};
