import { assignUserRole } from './assignUserRole';
import { createRole } from './createRole';
import { deleteRole } from './deleteRole';
import { getRole } from './getRole';
import { listPermissions } from './listPermissions';
import { listRoles } from './listRoles';
import { listUserRoles } from './listUserRoles';
import { removeUserRole } from './removeUserRole';
import { setRolePermissions } from './setRolePermissions';

export const rbacHandlers = {
  listPermissions,
  listRoles,
  createRole,
  getRole,
  deleteRole,
  setRolePermissions,
  listUserRoles,
  assignUserRole,
  removeUserRole,
};
