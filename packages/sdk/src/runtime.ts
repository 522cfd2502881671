import type { operations } from './api';
import { createWardenClient, unwrap, type WardenClient } from './client';
import { WardenError } from './errors';
import type { RetryOptions } from './retry';

type BootstrapInput = operations['bootstrapInstallation']['requestBody']['content']['application/json'];
type LeaseInput = NonNullable<operations['renewInstallationLease']['requestBody']>['content']['application/json'];
export type Lease = operations['renewInstallationLease']['responses']['200']['content']['application/json'];
export type ShutdownCommand = NonNullable<Lease['command']>;

/** What an installation must keep (e.g. in a secret store) to resume after a restart. */
export interface InstallationCredentials {
  installationId: string;
  runtimeToken: string;
  /** Absent only when the credentials came from somewhere that gave none; refreshing then needs a recovery. */
  refreshToken?: string;
  /** When the runtime token expires. */
  expiresAt: string;
}

export interface AgentRuntimeOptions {
  baseUrl: string;
  /** A fresh `skt_…` install token to bootstrap with; or `credentials` to resume. */
  installToken?: string;
  credentials?: InstallationCredentials;
  upstreamUrl?: string;
  capabilities?: string[];
  /** Seconds between leases Warden should expect (10–3600, default 60). */
  heartbeatIntervalSeconds?: number;
  /** Renew this often instead of at Warden's `next_heartbeat_at`; never renews later than Warden asks. */
  renewEveryMs?: number;
  /** Called once when a lease carries the `shutdown` command (the agent was killed or revoked). */
  onShutdown: (command: ShutdownCommand) => void | Promise<void>;
  /** Called whenever the credentials change (bootstrap, rotation, refresh): persist them here. */
  onCredentials?: (credentials: InstallationCredentials) => void | Promise<void>;
  /** Called with every lease Warden grants. */
  onLease?: (lease: Lease) => void;
  /** Called when a renewal fails; the runtime keeps trying unless the credential was refused. */
  onError?: (error: unknown) => void;
  /** Health to report with each lease. */
  health?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  retry?: RetryOptions | false;
  fetch?: (input: Request) => Promise<Response>;
}

/** How long to wait after a failed renewal before the next attempt, at most. */
const FAILURE_BACKOFF_MS = 5_000;

/**
 * What an agent author embeds: bootstraps the installation from an install token, keeps its
 * lease alive on a timer, takes the rotated runtime token a lease hands out, refreshes an
 * expired or replaced one with the refresh token, and obeys the `shutdown` command.
 */
export class AgentRuntime {
  private timer: NodeJS.Timeout | undefined;
  private state: 'running' | 'shutting_down' | 'stopped' = 'running';

  private constructor(
    private readonly client: WardenClient,
    private readonly options: AgentRuntimeOptions,
    private current: InstallationCredentials,
  ) {}

  /** Bootstraps (or resumes), takes the first lease, and starts renewing. */
  static async start(options: AgentRuntimeOptions): Promise<AgentRuntime> {
    const client = createWardenClient({ baseUrl: options.baseUrl, retry: options.retry, fetch: options.fetch });
    const credentials = options.credentials ?? (await bootstrap(client, options));
    const runtime = new AgentRuntime(client, options, credentials);
    if (!options.credentials) await options.onCredentials?.(credentials);
    runtime.scheduleAfter(await runtime.renew());
    return runtime;
  }

  get installationId(): string {
    return this.current.installationId;
  }

  get credentials(): InstallationCredentials {
    return { ...this.current };
  }

  get status(): 'running' | 'shutting_down' | 'stopped' {
    return this.state;
  }

  /** One lease now. A refused runtime token is refreshed once and the lease retried. */
  async renew(): Promise<Lease> {
    const body: LeaseInput = {
      status: 'running',
      heartbeat_interval_seconds: this.options.heartbeatIntervalSeconds,
      health_payload: await this.options.health?.(),
    };
    let lease: Lease;
    try {
      lease = await this.lease(body);
    } catch (error) {
      const refusedToken = error instanceof WardenError && error.status === 401 && this.current.refreshToken !== undefined;
      if (!refusedToken) throw error;
      await this.refresh();
      lease = await this.lease(body);
    }
    if (lease.refreshed_token) {
      const { runtime_token, expires_at } = lease.refreshed_token;
      await this.replace({ ...this.current, runtimeToken: runtime_token, expiresAt: expires_at });
    }
    this.options.onLease?.(lease);
    if (lease.command && this.state === 'running') {
      this.state = 'shutting_down';
      this.cancelTimer();
      await this.options.onShutdown(lease.command);
    }
    return lease;
  }

  /** Exchanges the refresh token for a new runtime and refresh token (both rotate). */
  async refresh(): Promise<InstallationCredentials> {
    if (this.current.refreshToken === undefined) throw new Error('This installation holds no refresh token; recover it with an API key.');
    const refreshed = await unwrap(
      this.client.POST('/api/v1/installations/{id}/refresh', {
        params: { path: { id: this.current.installationId } },
        body: { refresh_token: this.current.refreshToken },
      }),
    );
    await this.replace({
      installationId: this.current.installationId,
      runtimeToken: refreshed.runtime_token,
      refreshToken: refreshed.refresh_token,
      expiresAt: refreshed.expires_at,
    });
    return this.credentials;
  }

  /** Stops renewing (e.g. when the agent exits on its own). */
  stop(): void {
    this.cancelTimer();
    if (this.state === 'running') this.state = 'stopped';
  }

  private lease(body: LeaseInput): Promise<Lease> {
    return unwrap(
      this.client.POST('/api/v1/installations/{id}/lease', {
        params: { path: { id: this.current.installationId } },
        headers: { Authorization: `Bearer ${this.current.runtimeToken}` },
        body,
      }),
    );
  }

  private async replace(credentials: InstallationCredentials): Promise<void> {
    this.current = credentials;
    await this.options.onCredentials?.(this.credentials);
  }

  /** A timer's renewal: failures go to `onError`; a refused credential stops the runtime, anything else is retried. */
  private async tick(): Promise<void> {
    this.timer = undefined;
    try {
      this.scheduleAfter(await this.renew());
    } catch (error) {
      this.options.onError?.(error);
      if (error instanceof WardenError && (error.status === 401 || error.status === 403)) this.stop();
      else this.schedule(Math.min(FAILURE_BACKOFF_MS, this.options.renewEveryMs ?? FAILURE_BACKOFF_MS));
    }
  }

  private scheduleAfter(lease: Lease): void {
    const untilAsked = Math.max(0, new Date(lease.next_heartbeat_at).getTime() - Date.now());
    this.schedule(Math.min(untilAsked, this.options.renewEveryMs ?? untilAsked));
  }

  private schedule(delayMs: number): void {
    if (this.state === 'running') this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Shorthand for {@link AgentRuntime.start}. */
export const startAgentRuntime = (options: AgentRuntimeOptions): Promise<AgentRuntime> => AgentRuntime.start(options);

async function bootstrap(client: WardenClient, options: AgentRuntimeOptions): Promise<InstallationCredentials> {
  if (!options.installToken) throw new Error('An install token (or stored credentials) is needed to start the agent runtime.');
  const body: BootstrapInput = {
    install_token: options.installToken,
    upstream_url: options.upstreamUrl,
    capabilities: options.capabilities,
    heartbeat_interval_seconds: options.heartbeatIntervalSeconds,
  };
  const booted = await unwrap(client.POST('/api/v1/installations/bootstrap', { body }));
  return {
    installationId: booted.installation_id,
    runtimeToken: booted.runtime_token,
    refreshToken: booted.refresh_token,
    expiresAt: booted.expires_at,
  };
}
