import { text } from 'node:stream/consumers';
import { BadGatewayError } from '../../errors/api-error';
import {
  DestinationRefusedError,
  DestinationUnresolvableError,
  type OutboundHttp,
  UpstreamFailureError,
  UpstreamTimeoutError,
} from '../../outbound/outbound-http';

/** What Warden reads of an Argo CD Application (argoproj.io/v1alpha1), Argo CD's own words kept. */
export interface ArgocdApp {
  name: string;
  namespace: string | null;
  project: string | null;
  sync_status: string | null;
  health_status: string | null;
  revision: string | null;
  operation_phase: string | null;
  operation_finished_at: string | null;
  reconciled_at: string | null;
  destination: { server: string | null; name: string | null; namespace: string | null };
}

/** Where to call and with what; the token is decrypted for the call and goes nowhere else. */
export interface ArgocdTarget {
  baseUrl: string;
  token: string;
}

/** An application list can be large; one application is small. */
const MAX_LIST_BYTES = 16 * 1024 * 1024;
const MAX_APP_BYTES = 1024 * 1024;
const MAX_APPS = 5000;

const unreachable = (reason: string) =>
  new BadGatewayError(`Argo CD could not be reached, or its answer did not arrive in full: ${reason}.`, 'ARGOCD_UNREACHABLE', [
    { location: 'upstream', field: 'base_url', message: reason, rule: 'reachable' },
  ]);
const failed = (reason: string) =>
  new BadGatewayError(`Argo CD's answer was not usable: ${reason}.`, 'ARGOCD_REQUEST_FAILED', [
    { location: 'upstream', field: 'answer', message: reason, rule: 'argocd_api' },
  ]);

/**
 * Argo CD's REST API (`/api/v1/applications`), called through the outbound client: the address is
 * checked against the SSRF rules on every call and the connection pinned to it. Failures are 502s
 * that name the reason, never the token.
 */
export class ArgocdClient {
  constructor(
    private readonly outbound: Pick<OutboundHttp, 'destination' | 'forward'>,
    private readonly timeoutMs: number,
  ) {}

  async applications(target: ArgocdTarget): Promise<ArgocdApp[]> {
    const body = await this.get(target, '/api/v1/applications', MAX_LIST_BYTES);
    // An empty list comes with `items` null or left out (Go's nil slice), but always with its metadata.
    const { items, metadata } = body as { items?: unknown; metadata?: unknown };
    if (metadata === undefined || (items != null && !Array.isArray(items))) throw failed('the answer is not an application list');
    return ((items as unknown[] | null | undefined) ?? []).slice(0, MAX_APPS).map(toApp);
  }

  async application(target: ArgocdTarget, name: string): Promise<ArgocdApp> {
    return toApp(await this.get(target, `/api/v1/applications/${encodeURIComponent(name)}`, MAX_APP_BYTES));
  }

  private async get(target: ArgocdTarget, path: string, maxBytes: number): Promise<object> {
    let raw: string;
    let status: number;
    try {
      const destination = await this.outbound.destination(`${target.baseUrl}${path}`);
      const answer = await this.outbound.forward(destination, {
        method: 'GET',
        headers: { authorization: `Bearer ${target.token}`, accept: 'application/json', 'user-agent': 'Warden' },
        timeoutMs: this.timeoutMs,
        maxResponseBytes: maxBytes,
      });
      status = answer.status;
      raw = await text(answer.body);
    } catch (error) {
      const outbound = [DestinationRefusedError, DestinationUnresolvableError, UpstreamTimeoutError, UpstreamFailureError];
      if (outbound.some((kind) => error instanceof kind)) throw unreachable((error as Error).message);
      throw error;
    }
    if (status === 401 || status === 403) throw failed(`HTTP ${status} (Argo CD does not accept the token for this)`);
    if (status < 200 || status > 299) throw failed(`HTTP ${status}`);
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
    } catch {
      // Reported below with the same words as a JSON value that is not an object.
    }
    throw failed('the body is not a JSON object');
  }
}

type Json = Record<string, unknown> | undefined;

const field = (value: unknown, key: string): Json => {
  const inner = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>) : undefined;
};
const str = (value: Json, key: string, max = 253): string | null => {
  const inner = value?.[key];
  return typeof inner === 'string' ? inner.slice(0, max) : null;
};

/** Maps an Application's JSON; one without a name is not an Application. */
function toApp(item: unknown): ArgocdApp {
  const metadata = field(item, 'metadata');
  const spec = field(item, 'spec');
  const status = field(item, 'status');
  const operation = field(status, 'operationState');
  const destination = field(spec, 'destination');
  const name = str(metadata, 'name');
  if (!name) throw failed('an application has no metadata.name');
  return {
    name,
    namespace: str(metadata, 'namespace'),
    project: str(spec, 'project'),
    sync_status: str(field(status, 'sync'), 'status', 64),
    health_status: str(field(status, 'health'), 'status', 64),
    revision: str(field(status, 'sync'), 'revision', 256),
    operation_phase: str(operation, 'phase', 64),
    operation_finished_at: str(operation, 'finishedAt', 64),
    reconciled_at: str(status, 'reconciledAt', 64),
    destination: { server: str(destination, 'server', 2048), name: str(destination, 'name'), namespace: str(destination, 'namespace') },
  };
}
