export { imagesHandlers } from './handlers';
export { ImageService, INTERRUPTED, STALE_SECONDS } from './images-service';
