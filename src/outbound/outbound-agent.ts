import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { OutboundHttp, Route } from './outbound-http';

type Connected = (error: Error | null, socket: Duplex) => void;

/** The URL of the connection an agent is asked to open (an IPv6 literal in brackets). */
function connectionUrl(protocol: 'http:' | 'https:', options: http.ClientRequestArgs): string {
  const host = options.host ?? options.hostname ?? 'localhost';
  const port = options.port ?? options.defaultPort ?? (protocol === 'https:' ? 443 : 80);
  return `${protocol}//${isIP(host) === 6 ? `[${host}]` : host}:${port}/`;
}

/**
 * An http(s).Agent for a library that makes its own requests (the Stripe SDK), checked as the
 * outbound client checks `forward`: the scheme, OUTBOUND_ALLOWED_HOSTS and an IP literal when the
 * connection is asked for (`route`; Node looks no literal up), and every address a host name
 * resolves to as the socket looks it up (`checkingLookup`), connecting to checked addresses only.
 * A refused destination fails the request with DestinationRefusedError (or
 * DestinationUnresolvableError) before any byte is sent.
 */
export function outboundAgent(outbound: OutboundHttp, protocol: 'http:' | 'https:', options: https.AgentOptions = {}): http.Agent {
  const Base = protocol === 'https:' ? https.Agent : http.Agent;
  class CheckedAgent extends Base {
    override createConnection(connection: http.ClientRequestArgs, connected?: Connected): Duplex | null | undefined {
      let route: Route;
      try {
        route = outbound.route(new URL(connectionUrl(protocol, connection)));
      } catch (error) {
        connected?.(error as Error, undefined as unknown as Duplex);
        return undefined;
      }
      // http's base is net.createConnection, whose second argument would be a connect listener: pass none.
      return super.createConnection({ ...connection, lookup: outbound.checkingLookup(route) }) as Duplex;
    }
  }
  return new CheckedAgent({ keepAlive: true, ...options });
}
