/**
 * The gateway bench's servers, each alone in its own process; each prints `LISTENING <port>`:
 * - `gateway-server.ts upstream`: the vendor, answering every request with a small JSON body;
 * - `gateway-server.ts bare-proxy <upstream port>`: a bare Node reverse proxy (node:http piping,
 *   keep-alive connections, no checks) mapping `/api/v1/gateway/<vendor>/<path>` to `/<path>`;
 * - `gateway-server.ts warden <upstream port> <database url> <schema or -> <pool size>`: Warden's
 *   whole app on the published spec, with the upstream allow-listed for outbound calls;
 * each also answers `GET /__bench/cpu` with its process's CPU time so far (process.cpuUsage, µs),
 * so the bench can tell the CPU one call costs from the time it waits on a shared machine.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { openDatabase } from '../../src/db/database';
import { createLogger } from '../../src/logging/logger';
import { UPSTREAM_ANSWER } from './bench-spec';

const GATEWAY_PREFIX = /^\/api\/v1\/gateway\/[^/]+/;
/** Where each server tells its CPU time so far. */
const CPU_PATH = '/__bench/cpu';

function upstream(): http.RequestListener {
  return (req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': UPSTREAM_ANSWER.length }).end(UPSTREAM_ANSWER),
    );
  };
}

function bareProxy(upstreamPort: number): http.RequestListener {
  const agent = new http.Agent({ keepAlive: true });
  return (req, res) => {
    const outgoing = http.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: req.method,
        path: req.url!.replace(GATEWAY_PREFIX, ''),
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        pipeline(answer, res).catch(() => res.destroy());
      },
    );
    outgoing.on('error', () => res.writeHead(502).end());
    pipeline(req, outgoing).catch(() => outgoing.destroy());
  };
}

async function warden(upstreamPort: number, url: string, schema: string | undefined, poolSize: number): Promise<http.RequestListener> {
  const database = await openDatabase({ kind: 'server', url, poolSize, schema }, { migrate: false });
  const env = {
    ...process.env,
    OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${upstreamPort}`,
    // The fixture's vendor credential is encrypted by this process and read back by it alone.
    WARDEN_ENCRYPTION_KEY: process.env.WARDEN_ENCRYPTION_KEY ?? randomBytes(32).toString('base64'),
  };
  const config = { ...loadConfig(env), logLevel: 'warn' as const };
  const { app } = await createApp({ config, database, logger: createLogger(config.logLevel) });
  return app;
}

async function main(): Promise<void> {
  const [role, port, url, schema, poolSize] = process.argv.slice(2);
  const listener =
    role === 'upstream'
      ? upstream()
      : role === 'bare-proxy'
        ? bareProxy(Number(port))
        : await warden(Number(port), url!, schema === '-' ? undefined : schema, Number(poolSize));
  const server = http.createServer((req, res) => {
    if (req.url === CPU_PATH) res.end(JSON.stringify(process.cpuUsage()));
    else listener(req, res);
  });
  process.on('SIGTERM', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
