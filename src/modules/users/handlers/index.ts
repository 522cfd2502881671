import { listUsers } from './listUsers';
import { createUser } from './createUser';
import { deleteUser } from './deleteUser';
import { listRolesOfUser } from './listRolesOfUser';

export const usersHandlers = { listUsers, createUser, deleteUser, listRolesOfUser };
