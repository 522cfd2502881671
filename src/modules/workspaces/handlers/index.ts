import { createEnvironment } from './createEnvironment';
import { createWorkspace } from './createWorkspace';
import { deleteEnvironment } from './deleteEnvironment';
import { deleteWorkspace } from './deleteWorkspace';
import { getWorkspace } from './getWorkspace';
import { listEnvironments } from './listEnvironments';
import { listWorkspaceMembers } from './listWorkspaceMembers';
import { listWorkspaces } from './listWorkspaces';
import { removeWorkspaceMember } from './removeWorkspaceMember';
import { setWorkspaceMember } from './setWorkspaceMember';
import { updateWorkspace } from './updateWorkspace';

export const workspacesHandlers = {
  listWorkspaces,
  createWorkspace,
  getWorkspace,
  updateWorkspace,
  deleteWorkspace,
  listWorkspaceMembers,
  setWorkspaceMember,
  removeWorkspaceMember,
  listEnvironments,
  createEnvironment,
  deleteEnvironment,
};
