import type { Handler } from '../../handler';

export const getOpenApiYaml: Handler<'getOpenApiYaml'> = ({ services }) => ({ status: 200, body: services.contract.yaml });
