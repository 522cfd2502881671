import { Client } from 'pg';
import type { Logger } from 'pino';

/** A channel's side of the shared connection: `hold()` keeps it listening until the release is called. */
export interface NotificationChannel {
  hold(): Promise<() => void>;
}

interface ChannelState {
  deliver: (payload: string | null) => void;
  holders: number;
}

/**
 * Postgres LISTEN for the whole process: one connection outside the pool, shared by every channel
 * (approval decisions, enqueued jobs), open only while someone holds a channel. It passes on each
 * notification's payload to its channel, and `null` to every channel when the connection is lost
 * (a waiter then re-reads; its periodic re-read covers the gap). Without a URL (PGlite, one session,
 * cannot spare a connection) holding is free and nothing arrives: waiters poll.
 */
export class Notifications {
  private readonly channels = new Map<string, ChannelState>();
  private client: Promise<Client> | undefined;
  /** The channels the current connection LISTENs on (or is starting to). */
  private listening = new Map<string, Promise<unknown>>();
  private holders = 0;
  /** Which connection is current, so the end of a closed one does not forget its successor. */
  private generation = 0;

  constructor(
    /** null where the database cannot spare a connection to LISTEN on (PGlite). */
    private readonly url: string | null,
    private readonly logger: Logger,
  ) {}

  /** Whether notifications arrive at all: otherwise senders need not send them. */
  get enabled(): boolean {
    return this.url !== null;
  }

  /** Registers the one receiver of a channel's notifications. */
  channel(name: string, deliver: (payload: string | null) => void): NotificationChannel {
    if (!/^[a-z_][a-z0-9_]*$/.test(name) || this.channels.has(name)) throw new Error(`notification channel '${name}' is invalid or taken`);
    const state: ChannelState = { deliver, holders: 0 };
    this.channels.set(name, state);
    return { hold: () => this.hold(name, state) };
  }

  private async hold(name: string, state: ChannelState): Promise<() => void> {
    if (this.url === null) return () => {};
    this.holders++;
    state.holders++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      state.holders--;
      if (--this.holders === 0) this.close();
    };
    try {
      this.client ??= this.connect(this.url);
      const client = await this.client;
      let listen = this.listening.get(name);
      if (!listen) {
        const listening = this.listening;
        listen = client.query(`LISTEN ${name}`);
        listening.set(name, listen);
        listen.catch(() => listening.delete(name));
      }
      // Awaited by every holder, so none re-reads before a notification could reach it.
      await listen;
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  private async connect(url: string): Promise<Client> {
    const client = new Client({ connectionString: url, application_name: 'warden-notifications' });
    const generation = ++this.generation;
    this.listening = new Map();
    const lost = (error?: Error) => {
      if (error) this.logger.warn({ err_message: error.message }, 'the notification listener lost its connection');
      if (this.generation === generation) this.client = undefined;
      for (const state of this.channels.values()) if (state.holders > 0) state.deliver(null);
    };
    client.on('notification', (message) => this.channels.get(message.channel)?.deliver(message.payload ?? null));
    client.on('error', lost);
    try {
      await client.connect();
    } catch (error) {
      if (this.generation === generation) this.client = undefined;
      await client.end().catch(() => undefined);
      throw error;
    }
    client.on('end', () => lost());
    return client;
  }

  private close(): void {
    const closing = this.client;
    this.client = undefined;
    closing?.then((client) => client.end()).catch(() => undefined);
  }
}
