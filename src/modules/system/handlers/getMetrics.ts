import type { Handler } from '../../handler';

export const getMetrics: Handler<'getMetrics'> = async ({ services }) => {
  const { registry } = services.metrics;
  return { status: 200, body: await registry.metrics(), headers: { 'Content-Type': registry.contentType } };
};
