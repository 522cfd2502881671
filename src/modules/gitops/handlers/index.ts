import { createArgocdEndpoint } from './createArgocdEndpoint';
import { createGitopsAppMapping } from './createGitopsAppMapping';
import { deleteArgocdEndpoint } from './deleteArgocdEndpoint';
import { deleteGitopsAppMapping } from './deleteGitopsAppMapping';
import { getRequestGitops } from './getRequestGitops';
import { listArgocdDiscoveredApps } from './listArgocdDiscoveredApps';
import { listArgocdEndpoints } from './listArgocdEndpoints';
import { listGitopsAppMappings } from './listGitopsAppMappings';
import { setArgocdEndpointEnabled } from './setArgocdEndpointEnabled';

export const gitopsHandlers = {
  createArgocdEndpoint,
  listArgocdEndpoints,
  setArgocdEndpointEnabled,
  deleteArgocdEndpoint,
  listArgocdDiscoveredApps,
  createGitopsAppMapping,
  listGitopsAppMappings,
  deleteGitopsAppMapping,
  getRequestGitops,
};
