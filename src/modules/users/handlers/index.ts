import { createUser } from './createUser';
import { deleteUser } from './deleteUser';
import { listRolesOfUser } from './listRolesOfUser';
import { listUsers } from './listUsers';

export const usersHandlers = { listUsers, createUser, deleteUser, listRolesOfUser };
