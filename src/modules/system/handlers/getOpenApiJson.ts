import type { Handler } from '../../handler';

export const getOpenApiJson: Handler<'getOpenApiJson'> = ({ services }) => ({ status: 200, body: services.contract.json });
