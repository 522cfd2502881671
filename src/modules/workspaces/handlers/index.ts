import { createEnvironment } from './createEnvironment';
import { createProject } from './createProject';
import { createProjectEnvironment } from './createProjectEnvironment';
import { createWorkspace } from './createWorkspace';
import { deleteEnvironment } from './deleteEnvironment';
import { deleteProjectEnvironment } from './deleteProjectEnvironment';
import { deleteWorkspace } from './deleteWorkspace';
import { getProject } from './getProject';
import { getWorkspace } from './getWorkspace';
import { listEnvironments } from './listEnvironments';
import { listOrgEnvironments } from './listOrgEnvironments';
import { listProjectEnvironments } from './listProjectEnvironments';
import { listProjects } from './listProjects';
import { listWorkspaceMembers } from './listWorkspaceMembers';
import { listWorkspaces } from './listWorkspaces';
import { removeWorkspaceMember } from './removeWorkspaceMember';
import { setProjectStatus } from './setProjectStatus';
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
  listProjects,
  createProject,
  getProject,
  setProjectStatus,
  listProjectEnvironments,
  createProjectEnvironment,
  listOrgEnvironments,
  deleteProjectEnvironment,
};
