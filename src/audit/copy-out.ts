import type { ClientBase } from 'pg';

/**
 * Runs a `COPY … TO STDOUT` on a `pg` client and hands each CopyData message to `sink` as it
 * arrives, synchronously: the socket is not read further until the sink returns, so the server
 * waits on TCP backpressure and nothing piles up in memory. (`pg` dispatches CopyData messages to
 * the active query object; this is that object.) A sink that throws fails the COPY once it ends.
 */
export function copyOut(client: ClientBase, text: string, sink: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: unknown;
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve();
      else reject(error);
    };
    const submittable = {
      submit(connection: { query(text: string): void }) {
        connection.query(text);
      },
      handleCopyData(message: { chunk: Buffer }) {
        if (failure !== undefined) return;
        try {
          sink(message.chunk);
        } catch (error) {
          failure = error;
        }
      },
      handleReadyForQuery() {
        settle(failure);
      },
      handleError(error: unknown) {
        settle(error);
      },
      handleCommandComplete() {},
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
    };
    client.query(submittable as never);
  });
}
