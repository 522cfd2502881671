export { marketplaceHandlers } from './handlers';
export { MarketplaceService } from './marketplace-service';
