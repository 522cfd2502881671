import { deleteAgentListing } from './deleteAgentListing';
import { getRegistryNetworkSummary } from './getRegistryNetworkSummary';
import { listRegistryNetworkAgents } from './listRegistryNetworkAgents';
import { putAgentListing } from './putAgentListing';

export const registryHandlers = { putAgentListing, deleteAgentListing, getRegistryNetworkSummary, listRegistryNetworkAgents };
