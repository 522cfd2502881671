import type { Handler } from '../../handler';

export const getFavicon: Handler<'getFavicon'> = ({ services }) => ({ status: 200, body: services.contract.favicon });
