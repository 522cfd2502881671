import { listWorkspaces } from './listWorkspaces';
import { createWorkspace } from './createWorkspace';
import { getWorkspace } from './getWorkspace';
import { updateWorkspace } from './updateWorkspace';
import { deleteWorkspace } from './deleteWorkspace';
import { listWorkspaceMembers } from './listWorkspaceMembers';
import { setWorkspaceMember } from './setWorkspaceMember';
import { removeWorkspaceMember } from './removeWorkspaceMember';
import { listEnvironments } from './listEnvironments';
import { createEnvironment } from './createEnvironment';
import { deleteEnvironment } from './deleteEnvironment';

export const workspacesHandlers = { listWorkspaces, createWorkspace, getWorkspace, updateWorkspace, deleteWorkspace, listWorkspaceMembers, setWorkspaceMember, removeWorkspaceMember, listEnvironments, createEnvironment, deleteEnvironment };
