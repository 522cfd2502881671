import { listWorkspaces } from './listWorkspaces';
import { createWorkspace } from './createWorkspace';
import { getWorkspace } from './getWorkspace';
import { updateWorkspace } from './updateWorkspace';
import { deleteWorkspace } from './deleteWorkspace';
import { listWorkspaceMembers } from './listWorkspaceMembers';
import { setWorkspaceMember } from './setWorkspaceMember';
import { removeWorkspaceMember } from './removeWorkspaceMember';

export const workspacesHandlers = { listWorkspaces, createWorkspace, getWorkspace, updateWorkspace, deleteWorkspace, listWorkspaceMembers, setWorkspaceMember, removeWorkspaceMember };
