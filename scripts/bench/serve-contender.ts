import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/**
 * The main of a bench contender process: builds its app from `<contender> <url> <schema|-> <poolSize>`,
 * listens on a free port of 127.0.0.1 and prints `LISTENING <port>` for the bench to read. It exits
 * normally on the bench's SIGTERM, so `node --cpu-prof` can write its profile.
 */
export function serveContender(build: (contender: string, url: string, schema: string | undefined, poolSize: number) => Promise<Express>) {
  const [contender, url, schema, poolSize] = process.argv.slice(2);
  build(contender!, url!, schema === '-' ? undefined : schema, Number(poolSize))
    .then((app) => {
      process.on('SIGTERM', () => process.exit(0));
      const server = app.listen(0, '127.0.0.1', () => {
        process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
      });
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
