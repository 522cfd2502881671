import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../db/database';

export interface Metrics {
  registry: Registry;
  /** Times every request and counts it by operationId (or `unmatched`), method and status. */
  middleware: RequestHandler;
}

const kStarted = Symbol('warden.metricsStarted');

type TimedResponse = ServerResponse & { [kStarted]?: number };

/** A registry per app, so several apps in one process (tests) never share counters. */
export function createMetrics(poolStats: () => PoolStats): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['operation_id', 'method', 'status'] as const;
  const requests = new Counter({
    name: 'warden_http_requests_total',
    help: 'HTTP requests served, by operation and status.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'warden_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, by operation and status.',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'warden_db_pool_connections',
    help: 'Database pool connections, by state (total, idle, waiting clients, max).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const stats = poolStats();
      for (const [state, value] of Object.entries(stats)) this.set({ state }, value);
    },
  });

  // One `finish` listener for every request, reading the start time the middleware left on the response.
  function onFinish(this: TimedResponse): void {
    const req = this.req as typeof this.req & { operationId?: string };
    const labels = { operation_id: req.operationId ?? 'unmatched', method: req.method ?? '', status: String(this.statusCode) };
    requests.inc(labels);
    duration.observe(labels, (performance.now() - this[kStarted]!) / 1000);
  }

  return {
    registry,
    middleware: (_req, res, next) => {
      (res as TimedResponse)[kStarted] = performance.now();
      res.on('finish', onFinish);
      next();
    },
  };
}
