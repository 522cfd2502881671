export { usersHandlers } from './handlers';
export { UserService } from './user-service';
