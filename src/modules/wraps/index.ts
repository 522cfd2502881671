export { wrapsHandlers } from './handlers';
export { type WrapDependencies, WrapService } from './wrap-service';
