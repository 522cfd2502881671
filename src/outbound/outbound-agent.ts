import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { type OutboundHttp, pinnedLookup } from './outbound-http';

type Connected = (error: Error | null, socket: Duplex) => void;

/** The URL of the connection an agent is asked to open (an IPv6 literal in brackets). */
function connectionUrl(protocol: 'http:' | 'https:', options: http.ClientRequestArgs): string {
  const host = options.host ?? options.hostname ?? 'localhost';
  const port = options.port ?? options.defaultPort ?? (protocol === 'https:' ? 443 : 80);
  return `${protocol}//${isIP(host) === 6 ? `[${host}]` : host}:${port}/`;
}

/**
 * An http(s).Agent for a library that makes its own requests (the Stripe SDK): before each new
 * connection the outbound client checks its destination — scheme, OUTBOUND_ALLOWED_HOSTS, every
 * address the host resolves to against the address policy — and the socket then connects to the
 * checked address only (pinned, so DNS rebinding cannot move it). A refused destination fails the
 * request with the outbound client's DestinationRefusedError (or DestinationUnresolvableError)
 * before any byte is sent.
 *
 * The check is made in `createConnection`, not only in the socket's `lookup`: Node calls no
 * lookup for a host that is an IP literal (`https://169.254.169.254`), which must be refused too.
 */
export function outboundAgent(outbound: OutboundHttp, protocol: 'http:' | 'https:', options: https.AgentOptions = {}): http.Agent {
  const Base = protocol === 'https:' ? https.Agent : http.Agent;
  class CheckedAgent extends Base {
    override createConnection(connection: http.ClientRequestArgs, connected?: Connected): Duplex | null | undefined {
      outbound.destination(connectionUrl(protocol, connection)).then(
        (destination) => {
          let socket: Duplex;
          try {
            // http's base is net.createConnection, whose second argument would be a connect listener: pass none.
            socket = super.createConnection({ ...connection, lookup: pinnedLookup(destination) }) as Duplex;
          } catch (error) {
            connected?.(error as Error, undefined as unknown as Duplex);
            return;
          }
          connected?.(null, socket);
        },
        (error: Error) => connected?.(error, undefined as unknown as Duplex),
      );
      return undefined;
    }
  }
  return new CheckedAgent({ keepAlive: true, ...options });
}
