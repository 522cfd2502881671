import { listPermissions } from './listPermissions';
import { listRoles } from './listRoles';
import { createRole } from './createRole';
import { getRole } from './getRole';
import { deleteRole } from './deleteRole';
import { setRolePermissions } from './setRolePermissions';
import { listUserRoles } from './listUserRoles';
import { assignUserRole } from './assignUserRole';
import { removeUserRole } from './removeUserRole';

export const rbacHandlers = { listPermissions, listRoles, createRole, getRole, deleteRole, setRolePermissions, listUserRoles, assignUserRole, removeUserRole };
