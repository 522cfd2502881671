import type { Handler } from '../../handler';

export const getReadiness: Handler<'getReadiness'> = async ({ services }) => {
  const readiness = await services.system.readiness();
  return readiness.status === 'ready' ? { status: 200, body: readiness } : { status: 503, body: readiness };
};
