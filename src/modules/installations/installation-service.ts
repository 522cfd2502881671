import type { Logger } from 'pino';
import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import { noteActor } from '../../audit/audited-change';
import { RUNTIME_TOKEN_PREFIX } from '../../auth/authenticator';
import { digestSecret, isWellFormedSecret, newSecret } from '../../auth/credentials';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../errors/api-error';
import type { AgentService } from '../agents';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import type { WorkspaceService } from '../workspaces';
import { type CredentialEvidence, InstallationStore, type InstallationSummary, type RuntimeTokenOwner } from './installation-store';
import { openReplay, sealReplay } from './refresh-replay';

type BootstrapResult = components['schemas']['BootstrapResult'];
type RuntimeToken = components['schemas']['RuntimeToken'];
type RefreshResult = components['schemas']['RefreshResult'];
type CreateInstallTokenInput = operations['createInstallToken']['requestBody']['content']['application/json'];
type BootstrapInstallationInput = operations['bootstrapInstallation']['requestBody']['content']['application/json'];
type RenewInstallationLeaseInput = NonNullable<operations['renewInstallationLease']['requestBody']>['content']['application/json'];
type RecoverInstallationInput = operations['recoverInstallation']['requestBody']['content']['application/json'];
type RegisterInstallationBeaconInput = operations['registerInstallationBeacon']['requestBody']['content']['application/json'];
type RevokeInstallationInput = operations['revokeInstallation']['requestBody']['content']['application/json'];

export const INSTALL_TOKEN_PREFIX = 'skt';
export const REFRESH_TOKEN_PREFIX = 'srf';
const RUNTIME_TOKEN_LIFETIME_MS = 90 * 86_400_000;
/** A lease's runtime token this close to expiry comes back with a replacement. */
const REFRESH_WITHIN_MS = 7 * 86_400_000;
/** The token_version of a bootstrap's runtime token: any refresh, recovery or renewal moves past it. */
const FIRST_TOKEN_VERSION = 1;

const refused = (code: UnauthorizedError['code'], message: string) => new UnauthorizedError(message, code);
const installationNotFound = (id: string) => new NotFoundError(`No installation '${id}' exists in this org.`, 'INSTALLATION_NOT_FOUND');

interface Setup {
  upstream_url?: string;
  capabilities?: string[];
  heartbeat_interval_seconds?: number;
}

/** How an installation looks from outside: revoked, never leased, lease lapsed, or leased now. */
export function installationStatus(row: { revoked_at: Date | null; lease_expires_at: Date | null }, now = Date.now()) {
  if (row.revoked_at) return 'revoked' as const;
  if (!row.lease_expires_at) return 'pending' as const;
  return row.lease_expires_at.getTime() < now ? ('stale' as const) : ('active' as const);
}

/** The audit subject of a caller that proved, with an install or refresh token, to be this installation. */
const installationActor = (owner: { org_id: string; workspace_id: string }, installationId: string) => ({
  orgId: owner.org_id,
  workspaceId: owner.workspace_id,
  actor: { type: 'installation' as const, id: installationId },
});

/**
 * Installations of agents: install tokens, bootstrap, leases, refresh and recovery, beacons,
 * revocation. Every token is stored as a SHA-256 digest; single-use and one-winner rules are
 * row locks inside transactions, so they hold across connections and instances.
 */
export class InstallationService {
  private readonly store: InstallationStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly workspaces: Pick<WorkspaceService, 'assertInOrg'>,
    private readonly agents: Pick<AgentService, 'row' | 'isStopped'>,
    private readonly logger: Logger,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {
    this.store = new InstallationStore(db);
  }

  /** What the compliance report needs about an agent's credentials in a workspace. */
  credentialEvidence(agentId: string, workspaceId: string): Promise<CredentialEvidence> {
    return this.store.credentialEvidence(agentId, workspaceId);
  }

  /** The installation a runtime token (by digest) belongs to, and whether it is of the current version. */
  findRuntimeToken(digest: Buffer): Promise<RuntimeTokenOwner | undefined> {
    return this.store.findRuntimeToken(digest);
  }

  /** Whether the agent has an unrevoked installation in the workspace. */
  isInstalled(agentId: string, workspaceId: string): Promise<boolean> {
    return this.store.isInstalled(agentId, workspaceId);
  }

  /** The agent's newest 200 installations. */
  summariesOf(agentId: string): Promise<InstallationSummary[]> {
    return this.store.summariesOf(agentId);
  }

  /** Up to `limit` ids of the installations in the workspace, in id order. */
  idsIn(workspaceId: string, limit: number): Promise<string[]> {
    return this.store.idsIn(workspaceId, limit);
  }

  async createInstallToken(principal: Principal, workspaceId: string, input: CreateInstallTokenInput) {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async () => {
      await this.workspaces.assertInOrg(orgId, workspaceId);
      const agent = await this.agents.row(orgId, input.agent_id);
      await this.assertAgentRunnable(agent.id, workspaceId, agent.workspace_id);
      const token = newSecret(INSTALL_TOKEN_PREFIX);
      const expiresAt = new Date(Date.now() + (input.expiry_minutes ?? 15) * 60_000);
      await this.store.insertInstallToken({ digest: digestSecret(token), orgId, workspaceId, agentId: agent.id, expiresAt });
      return { token, expires_at: expiresAt.toISOString(), agent_id: input.agent_id, workspace_id: workspaceId };
    });
  }

  /**
   * One install token, one installation, one answer: the token row is locked, so of concurrent
   * bootstraps the first creates the installation and seals its credentials under the install
   * token, and the rest, within 60 s, get those same credentials back. A repeat never mints a
   * token: once the installation was refreshed, recovered or revoked, the install token is spent.
   */
  async bootstrap(input: BootstrapInstallationInput): Promise<BootstrapResult> {
    const invalid = () => refused('INSTALL_TOKEN_INVALID', 'The install token is not valid.');
    if (!isWellFormedSecret(input.install_token, INSTALL_TOKEN_PREFIX)) throw invalid();
    return this.db.transaction(async () => {
      const token = await this.store.lockInstallToken(digestSecret(input.install_token));
      if (!token) throw invalid();
      if (token.agent_stopped) throw refused('CREDENTIAL_REVOKED', 'The agent is revoked or disabled.');
      if (token.expires_at.getTime() <= Date.now()) throw refused('INSTALL_TOKEN_EXPIRED', 'The install token has expired.');
      if (token.used_at) {
        const installation = await this.store.findTokenState(token.installation_id!);
        const untouched = installation?.revoked_at === null && installation.token_version === FIRST_TOKEN_VERSION;
        const isRetry = token.in_window && token.replay_ciphertext && untouched;
        if (!isRetry) throw refused('INSTALL_TOKEN_USED', 'The install token has been used; use recovery to re-bootstrap.');
        noteActor(installationActor(token, token.installation_id!));
        return openReplay<BootstrapResult>(input.install_token, token.installation_id!, token.replay_ciphertext!);
      }
      const owner = { orgId: token.org_id, workspaceId: token.workspace_id, agentId: token.agent_id };
      const result = await this.createInstallation(owner, input);
      const replay = sealReplay(input.install_token, result.installation_id, result);
      await this.store.markInstallTokenUsed(token.token_digest, result.installation_id, replay);
      noteActor(installationActor(token, result.installation_id));
      return result;
    });
  }

  /**
   * The heartbeat. Records what the installation reports and extends its lease; delivers the
   * shutdown command once the installation or its agent is stopped; hands out a new runtime
   * token when the current one is within 7 days of expiry. Only that hand-out is audited: a
   * renewal is a liveness ping, and an event per ping would flood the chain.
   */
  async lease(principal: Principal, installationId: string, input: RenewInstallationLeaseInput | undefined) {
    if (principal.installationId !== installationId) {
      throw new ForbiddenError("A runtime token works only on its own installation's lease.", 'NOT_THIS_INSTALLATION');
    }
    // One autocommitted UPDATE on the hot path; a transaction only when a token is replaced.
    const row = await this.store.renewLease(installationId, {
      status: input?.status ?? 'running',
      heartbeatInterval: input?.heartbeat_interval_seconds ?? null,
      healthPayload: input?.health_payload ?? null,
    });
    const command = row.revoked_at
      ? {
          type: 'shutdown' as const,
          reason: row.revoke_reason as string,
          timeout_ms: Math.max(0, row.revoked_at.getTime() + row.shutdown_timeout_ms - Date.now()),
        }
      : row.agent_stopped
        ? {
            type: 'shutdown' as const,
            reason: row.agent_status === 'revoked' ? 'agent revoked' : `agent disabled: ${row.disabled_reason}`,
            timeout_ms: 0,
          }
        : null;
    const refreshed_token =
      !command && principal.expiresAt!.getTime() - Date.now() < REFRESH_WITHIN_MS
        ? await this.db.transaction(async () => {
            const runtime = await this.issueRuntimeToken(installationId, await this.store.nextTokenVersion(installationId));
            await this.audit.append({
              orgId: principal.orgId,
              actor: actorOf(principal),
              workspaceId: row.workspace_id,
              action: 'installation.runtime_token_renewed',
              resourceType: 'installation',
              resourceId: installationId,
              outcome: 'success',
              ...currentRequestFacts(),
              details: { token_version: runtime.token_version, expires_at: runtime.expires_at },
            });
            return runtime;
          })
        : undefined;
    return {
      installation_id: installationId,
      lease_expires_at: row.lease_expires_at.toISOString(),
      next_heartbeat_at: new Date(Date.now() + row.heartbeat_interval * 1000).toISOString(),
      command,
      ...(refreshed_token ? { refreshed_token } : {}),
    };
  }

  /**
   * A new runtime token and a new refresh token for the current refresh token, which is spent
   * (rotation, RFC 9700 §4.14.2). The installation row is locked, so of concurrent refreshes
   * with one token the first rotates and the rest, like a retry within the grace window, get
   * the pair it sealed for them. Any other spent token revokes the whole family: someone holds
   * a copy they should not. That refusal is returned, not thrown, because the revocation and its
   * audit event must commit with the request's transaction.
   */
  async refresh(installationId: string, refreshToken: string): Promise<RefreshResult | UnauthorizedError> {
    const invalid = () => refused('REFRESH_TOKEN_INVALID', 'The refresh token is not valid for this installation.');
    const stopped = () => refused('CREDENTIAL_REVOKED', 'The installation or its agent is revoked or disabled.');
    if (!isWellFormedSecret(refreshToken, REFRESH_TOKEN_PREFIX)) throw invalid();
    const digest = digestSecret(refreshToken);
    return this.db.transaction(async () => {
      const installation = await this.store.lockForRefresh(installationId);
      if (!installation) throw invalid();
      const isStopped = installation.revoked_at !== null || installation.agent_stopped;
      if (installation.refresh_token_digest?.equals(digest)) {
        if (isStopped) throw stopped();
        noteActor(installationActor(installation, installationId));
        return this.rotate(installationId, refreshToken);
      }
      const spent = await this.store.findSuperseded(digest, installationId);
      if (!spent) throw invalid();
      if (spent.in_grace && spent.replay_ciphertext && spent.replacement_version === installation.token_version) {
        if (isStopped) throw stopped();
        noteActor(installationActor(installation, installationId));
        return openReplay<RefreshResult>(refreshToken, installationId, spent.replay_ciphertext);
      }
      await this.store.revokeTokenFamily(installationId);
      await this.audit.append({
        orgId: installation.org_id,
        actor: { type: 'anonymous', id: null },
        workspaceId: installation.workspace_id,
        action: 'installation.refresh_token_reused',
        resourceType: 'installation',
        resourceId: installationId,
        outcome: 'denied',
        ...currentRequestFacts(),
        details: { revoked: 'every runtime and refresh token of the installation' },
      });
      this.logger.warn(
        { installation_id: installationId },
        'spent refresh token presented again: every token of the installation is revoked',
      );
      return refused(
        'REFRESH_TOKEN_REUSED',
        'This refresh token was replaced; every token of the installation is now revoked. Use recovery.',
      );
    });
  }

  /** Erases the sealed answers (of refreshes and bootstraps) whose retry window has closed. */
  forgetExpiredReplays(): Promise<void> {
    return this.store.forgetExpiredReplays();
  }

  /** Re-bootstrap without an install token: new runtime and refresh tokens; earlier refresh tokens die. */
  async recover(principal: Principal, input: RecoverInstallationInput): Promise<BootstrapResult> {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async () => {
      await this.workspaces.assertInOrg(orgId, input.workspace_id);
      const agent = await this.agents.row(orgId, input.agent_id);
      await this.assertAgentRunnable(agent.id, input.workspace_id, agent.workspace_id);
      const installation = await this.store.lockCurrent(agent.id, input.workspace_id);
      if (!installation) return this.createInstallation({ orgId, workspaceId: input.workspace_id, agentId: agent.id }, input);
      if (installation.refresh_token_digest) await this.store.supersede(installation.refresh_token_digest, installation.id);
      const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
      const updated = await this.store.recover(installation.id, digestSecret(refreshToken), {
        upstreamUrl: input.upstream_url ?? null,
        capabilities: input.capabilities ?? null,
        heartbeatInterval: input.heartbeat_interval_seconds ?? null,
      });
      const runtime = await this.issueRuntimeToken(installation.id, updated.token_version);
      return {
        installation_id: installation.id,
        runtime_token: runtime.runtime_token,
        refresh_token: refreshToken,
        expires_at: runtime.expires_at,
        heartbeat_interval: updated.heartbeat_interval,
      };
    });
  }

  async registerBeacon(principal: Principal, installationId: string, input: RegisterInstallationBeaconInput) {
    const orgId = await this.orgs.scope(principal);
    const row = await this.store.registerBeacon(installationId, orgId, input.platform, input.metadata ?? {});
    if (!row) throw installationNotFound(installationId);
    return {
      installation_id: installationId,
      platform: input.platform,
      metadata: input.metadata ?? {},
      registered_at: row.beacon_registered_at.toISOString(),
    };
  }

  /** The refresh token dies now; the next lease says shutdown; the runtime token dies at the deadline. */
  async revoke(principal: Principal, installationId: string, input: RevokeInstallationInput) {
    const orgId = await this.orgs.scope(principal);
    const row = await this.store.revoke(installationId, orgId, input.reason, input.shutdown_timeout_ms ?? 0);
    if (!row) throw installationNotFound(installationId);
    return {
      installation_id: installationId,
      status: 'revoked' as const,
      reason: row.revoke_reason,
      shutdown_deadline: new Date(row.revoked_at.getTime() + row.shutdown_timeout_ms).toISOString(),
    };
  }

  private async createInstallation(owner: { orgId: string; workspaceId: string; agentId: string }, setup: Setup): Promise<BootstrapResult> {
    const installationId = newId('inst');
    const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
    const heartbeatInterval = setup.heartbeat_interval_seconds ?? 60;
    await this.store.insert({
      id: installationId,
      ...owner,
      upstreamUrl: setup.upstream_url ?? null,
      capabilities: setup.capabilities ?? [],
      heartbeatInterval,
      refreshTokenDigest: digestSecret(refreshToken),
    });
    const runtime = await this.issueRuntimeToken(installationId, FIRST_TOKEN_VERSION);
    return {
      installation_id: installationId,
      runtime_token: runtime.runtime_token,
      refresh_token: refreshToken,
      expires_at: runtime.expires_at,
      heartbeat_interval: heartbeatInterval,
    };
  }

  /**
   * Spends the refresh token: a new pair, the old token kept (as a digest) for reuse detection
   * with the pair sealed under it for the grace window (forgetExpiredReplays erases it later).
   */
  private async rotate(installationId: string, refreshToken: string): Promise<RefreshResult> {
    const next = newSecret(REFRESH_TOKEN_PREFIX);
    const version = await this.store.rotateRefreshToken(installationId, digestSecret(next));
    const pair: RefreshResult = { ...(await this.issueRuntimeToken(installationId, version)), refresh_token: next };
    const replay = sealReplay(refreshToken, installationId, pair);
    await this.store.supersedeWithReplay(digestSecret(refreshToken), installationId, version, replay);
    return pair;
  }

  private async issueRuntimeToken(installationId: string, version: number): Promise<RuntimeToken> {
    const token = newSecret(RUNTIME_TOKEN_PREFIX);
    const expiresAt = new Date(Date.now() + RUNTIME_TOKEN_LIFETIME_MS);
    await this.store.insertRuntimeToken(digestSecret(token), installationId, version, expiresAt);
    return { runtime_token: token, expires_at: expiresAt.toISOString(), token_version: version };
  }

  /** 409 for a stopped agent, or one that belongs to another workspace. */
  private async assertAgentRunnable(agentId: string, workspaceId: string, agentWorkspaceId: string | null): Promise<void> {
    if (await this.agents.isStopped(agentId)) throw new ConflictError('The agent is revoked or disabled.', 'AGENT_STOPPED');
    if (agentWorkspaceId && agentWorkspaceId !== workspaceId) {
      throw new ConflictError(`The agent belongs to workspace '${agentWorkspaceId}'.`, 'AGENT_IN_OTHER_WORKSPACE');
    }
  }
}
