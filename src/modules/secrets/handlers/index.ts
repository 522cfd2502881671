import { bulkUpsertDiscoveredSecrets } from './bulkUpsertDiscoveredSecrets';
import { getDiscoveredSecret } from './getDiscoveredSecret';
import { listDiscoveredSecrets } from './listDiscoveredSecrets';

export const secretsHandlers = {
  bulkUpsertDiscoveredSecrets,
  listDiscoveredSecrets,
  getDiscoveredSecret,
};
