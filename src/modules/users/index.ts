export { usersHandlers } from './handlers';
export { USER_COLUMNS, type UserRow, UserService, toUser } from './user-service';
