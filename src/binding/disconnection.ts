import type { Request } from 'express';

/** Aborts when the client goes away before its answer is sent, so a long-poll stops waiting for nobody. */
export function disconnection(req: Request): AbortSignal {
  const controller = new AbortController();
  const res = req.res!;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
