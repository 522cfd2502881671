import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers one request; without one queued it answers 202 `{}`. */
export type Reply = (res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 standing in for a SIEM intake: it keeps every request it gets. */
export interface HttpReceiver {
  port: number;
  url(path: string): string;
  requests: ReceivedRequest[];
  /** Answers the next requests with these replies, in order. */
  reply(...replies: Reply[]): void;
  /** Forgets what was received and queued. */
  reset(): void;
  close(): Promise<void>;
}

export const status =
  (code: number, headers: Record<string, string> = {}, body = '{}'): Reply =>
  (res) => {
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
    res.end(body);
  };

/** Never answers: the client's timeout has to end the attempt. */
export const silence: Reply = () => undefined;

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let queue: Reply[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      (queue.shift() ?? status(202))(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    reset: () => {
      requests.length = 0;
      queue = [];
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
