/**
 * One contender of `npm run bench`, alone in its own process: `contender-server.ts <name> <padding>`.
 * Prints `LISTENING <port>` once it serves BENCH_PATH on 127.0.0.1.
 */
import type { AddressInfo } from 'node:net';
import addFormats from 'ajv-formats';
import express, { type Express } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import OpenAPIBackend, { type Document } from 'openapi-backend';
import pino from 'pino';
import { createBinding } from '../../src/binding/binding';
import type { AnyHandler } from '../../src/binding/handler-types';
import { loadSpec } from '../../src/binding/loaded-spec';
import { errorHandler } from '../../src/errors/error-handler';
import { BENCH_PATH, benchSpec, type Contender, echo, operationIdsOf } from './bench-spec';

async function build(contender: Contender, padding: number): Promise<Express> {
  const spec = benchSpec(padding);
  const app = express();
  app.disable('x-powered-by');
  switch (contender) {
    case 'bare-express':
      app.post(BENCH_PATH, express.json(), (req, res) => {
        res.json(echo(req.body));
      });
      return app;
    case 'openapi-backend': {
      const api = new OpenAPIBackend({
        definition: spec as unknown as Document,
        customizeAjv: (ajv) => {
          addFormats(ajv);
          return ajv;
        },
        handlers: {
          benchEcho: (context, _req, res: express.Response) => res.json(echo(context.request.requestBody)),
          validationFail: (context, _req, res: express.Response) => res.status(422).json({ errors: context.validation.errors }),
          notFound: (_context, _req, res: express.Response) => res.status(404).json({ error: 'not_found' }),
          notImplemented: (_context, _req, res: express.Response) => res.status(501).end(),
          unauthorizedHandler: (_context, _req, res: express.Response) => res.status(401).end(),
        },
      });
      await api.init();
      app.use(express.json());
      app.use((req, res) => api.handleRequest(req as never, req, res));
      return app;
    }
    case 'express-openapi-validator':
      app.use(express.json());
      app.use(OpenApiValidator.middleware({ apiSpec: spec as never, validateRequests: true, validateResponses: false }));
      app.post(BENCH_PATH, (req, res) => {
        res.json(echo(req.body));
      });
      app.use(((error, _req, res, _next) => {
        res.status(error.status ?? 500).json({ error: error.message });
      }) as express.ErrorRequestHandler);
      return app;
    case 'warden': {
      // The binding layer as Warden runs it; only the bench operation is ever called.
      const handlers: Record<string, AnyHandler> = Object.fromEntries(
        operationIdsOf(spec).map((operationId) => [operationId, (() => ({ status: 404 })) as AnyHandler]),
      );
      handlers.benchEcho = (({ body }: { body: { name: string; count: number } }) => ({ status: 200, body: echo(body) })) as AnyHandler;
      const binding = createBinding({ spec: await loadSpec(spec), handlers, services: {}, bodyLimitBytes: 1024 * 1024 });
      const silent = pino({ level: 'silent' });
      app.use((req, _res, next) => {
        req.log = silent;
        req.id = 'bench';
        next();
      });
      app.use(binding.middleware);
      app.use(errorHandler);
      return app;
    }
  }
}

const [contender, padding] = [process.argv[2] as Contender, Number(process.argv[3] ?? 0)];
build(contender, padding).then((app) => {
  const server = app.listen(0, '127.0.0.1', () => {
    console.log(`LISTENING ${(server.address() as AddressInfo).port}`);
  });
});
