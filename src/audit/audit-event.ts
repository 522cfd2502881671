import { AsyncLocalStorage } from 'node:async_hooks';
import type { components } from '../../generated/api';
import type { Principal } from '../auth/principal';

type AuditEvent = components['schemas']['AuditEvent'];
type ActorType = AuditEvent['actor_type'];

export interface NewAuditEvent {
  orgId: string | null;
  actor: { type: ActorType; id: string | null };
  workspaceId?: string | null;
  action: string;
  resourceType?: string;
  resourceId?: string | null;
  outcome: AuditEvent['outcome'];
  requestId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

/** Where a request came from, as audit events record it. */
export interface RequestFacts {
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

export function requestFactsOf(req: {
  id: string;
  ip?: string;
  socket: { remoteAddress?: string };
  headers: Record<string, unknown>;
}): RequestFacts {
  const userAgent = req.headers['user-agent'];
  return { requestId: req.id, ip: req.ip ?? req.socket.remoteAddress ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null };
}

/** Who an event is by: the principal's kind, and the id that names it. */
export function actorOf(principal: Principal): NewAuditEvent['actor'] {
  switch (principal.kind) {
    case 'user':
      return { type: 'user', id: principal.userId };
    case 'api_key':
      return { type: 'api_key', id: principal.apiKeyId };
    case 'admin_session':
      return { type: 'admin_session', id: principal.adminEmail };
    case 'agent':
    case 'gateway_key':
      return { type: 'agent', id: principal.agentId };
    case 'installation':
      return { type: 'installation', id: principal.installationId };
    default:
      return { type: 'anonymous', id: null };
  }
}

const ambientFacts = new AsyncLocalStorage<RequestFacts>();

/** Runs an operation with its request's facts at hand, so a service can record them without a handler passing them down. */
export function withRequestFacts<T>(facts: RequestFacts, work: () => Promise<T>): Promise<T> {
  return ambientFacts.run(facts, work);
}

/** The facts of the request being served; all null outside one (start-up, sweeps, the admin script). */
export function currentRequestFacts(): RequestFacts {
  return ambientFacts.getStore() ?? { requestId: null, ip: null, userAgent: null };
}
