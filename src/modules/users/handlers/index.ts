import { listUsers } from './listUsers';
import { createUser } from './createUser';
import { listRolesOfUser } from './listRolesOfUser';

export const usersHandlers = { listUsers, createUser, listRolesOfUser };
