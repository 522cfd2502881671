import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const TLS = join(__dirname, '..', 'fixtures', 'tls');
/** The fixture's certificate (CN and SAN 127.0.0.1): Warden trusts it through OUTBOUND_CA_FILE, as an internal CA. */
export const ARGOCD_CA = join(TLS, 'self-signed-cert.pem');

/** What a test sets of one application; the rest of its JSON is as Argo CD v2.13 answers it. */
export interface AppState {
  sync: 'Synced' | 'OutOfSync' | 'Unknown';
  health: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  revision?: string;
  reconciledAt?: string;
  operation?: { phase: 'Running' | 'Succeeded' | 'Failed'; startedAt: string; finishedAt?: string };
}

export interface ArgocdFixture {
  url: string;
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>;
  /** Sets (or adds) an application's status. */
  set(name: string, state: AppState): void;
  close(): Promise<void>;
}

const REVISION = '9f2c1e7b4a6d3f08e1c2b5a7d9e0f1a2b3c4d5e6';

/**
 * An Argo CD application (argoproj.io/v1alpha1) as `GET /api/v1/applications[/{name}]` returns it,
 * recorded from Argo CD v2.13 with an auto-synced Helm/Kustomize app and trimmed of managedFields.
 */
function application(name: string, project: string, state: AppState) {
  const revision = state.revision ?? REVISION;
  return {
    metadata: {
      name,
      namespace: 'argocd',
      uid: `5c0e4a1d-${name.length.toString(16).padStart(4, '0')}-4b7e-9d1f-2a6c8e0b3f51`,
      resourceVersion: '184467',
      generation: 412,
      creationTimestamp: '2026-09-02T08:14:33Z',
      labels: { 'app.kubernetes.io/part-of': project },
      annotations: { 'notifications.argoproj.io/subscribe.on-sync-failed.slack': 'platform-alerts' },
    },
    spec: {
      source: { repoURL: 'https://github.com/example/platform-gitops.git', path: `apps/${name}/overlays/prod`, targetRevision: 'main' },
      destination: { server: 'https://kubernetes.default.svc', namespace: project },
      project,
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    },
    status: {
      resources: [
        { version: 'v1', kind: 'Secret', namespace: project, name: `${name}-db`, status: state.sync },
        { group: 'apps', version: 'v1', kind: 'Deployment', namespace: project, name, status: 'Synced', health: { status: state.health } },
      ],
      sync: {
        status: state.sync,
        comparedTo: {
          source: { repoURL: 'https://github.com/example/platform-gitops.git', path: `apps/${name}/overlays/prod`, targetRevision: 'main' },
          destination: { server: 'https://kubernetes.default.svc', namespace: project },
        },
        revision,
      },
      health: { status: state.health },
      history: [
        {
          revision,
          deployedAt: '2026-11-24T08:59:01Z',
          id: 57,
          source: { repoURL: 'https://github.com/example/platform-gitops.git', path: `apps/${name}/overlays/prod`, targetRevision: 'main' },
          deployStartedAt: '2026-11-24T08:58:55Z',
        },
      ],
      reconciledAt: state.reconciledAt ?? '2026-11-24T09:00:00Z',
      ...(state.operation
        ? {
            operationState: {
              operation: { sync: { revision, syncStrategy: { hook: {} } }, initiatedBy: { automated: true }, retry: { limit: 5 } },
              phase: state.operation.phase,
              message: state.operation.phase === 'Succeeded' ? 'successfully synced (all tasks run)' : 'waiting for completion of hook',
              syncResult: { resources: [], revision, source: { repoURL: 'https://github.com/example/platform-gitops.git' } },
              startedAt: state.operation.startedAt,
              ...(state.operation.finishedAt ? { finishedAt: state.operation.finishedAt } : {}),
            },
          }
        : {}),
      sourceType: 'Kustomize',
      summary: { images: [`ghcr.io/example/${name}:1.42.0`] },
      controllerNamespace: 'argocd',
    },
  };
}

/** Argo CD's API errors come from its gRPC gateway: a gRPC code and the message twice. */
const grpcError = (code: number, message: string) => JSON.stringify({ error: message, code, message });

/**
 * A small Argo CD API server on 127.0.0.1: it accepts one bearer token and serves the applications
 * the test sets, listed or one by one, and keeps every request it gets. With `tls` it serves https
 * as Argo CD does (the app must trust ARGOCD_CA through OUTBOUND_CA_FILE); else plain http, which
 * the outbound client allows for an allow-listed host.
 */
export async function startArgocdFixture(
  token: string,
  apps: Record<string, { project: string } & AppState>,
  options: { tls?: boolean } = {},
): Promise<ArgocdFixture> {
  const requests: ArgocdFixture['requests'] = [];
  const state = new Map(Object.entries(apps));
  const handle: RequestListener = (req, res) => {
    requests.push({ method: req.method!, path: req.url!, headers: req.headers });
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body);
    };
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(401, grpcError(16, 'invalid session: token signature is invalid'));
      return;
    }
    const path = new URL(req.url!, 'http://argocd').pathname;
    if (req.method === 'GET' && path === '/api/v1/applications') {
      const items = [...state].map(([name, app]) => application(name, app.project, app));
      send(200, JSON.stringify({ metadata: { resourceVersion: '184467' }, items }));
      return;
    }
    const one = /^\/api\/v1\/applications\/([^/]+)$/.exec(path);
    const app = one ? state.get(decodeURIComponent(one[1]!)) : undefined;
    // Argo CD answers 403 for an application that does not exist, so as not to tell it from one you may not see.
    if (req.method === 'GET' && one)
      send(app ? 200 : 403, app ? JSON.stringify(application(one[1]!, app.project, app)) : grpcError(7, 'permission denied'));
    else send(404, grpcError(5, 'Not Found'));
  };
  const server = options.tls
    ? createHttpsServer({ cert: readFileSync(ARGOCD_CA), key: readFileSync(join(TLS, 'self-signed-key.pem')) }, handle)
    : createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    set: (name, next) => state.set(name, { project: state.get(name)?.project ?? 'default', ...next }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
