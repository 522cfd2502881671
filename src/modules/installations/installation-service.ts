import type { Db } from '../../db/db';
import { InstallationStore, type CredentialEvidence } from './installation-store';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import { digestSecret, isWellFormedSecret, newSecret } from '../../auth/credentials';
import { RUNTIME_TOKEN_PREFIX } from '../../auth/authenticator';
import type { Principal } from '../../auth/principal';
import type { RequestBody } from '../../binding/handler-types';
import { newId } from '../../db/ids';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../errors/api-error';
import { AGENT_STOPPED_SQL, type AgentService } from '../agents';
import { type AuditService } from '../audit';
import { actorOf, type RequestFacts } from '../../audit/audit-event';
import { noteActor } from '../../audit/audited-change';
import type { OrgService } from '../orgs';
import { assertWorkspaceInOrg } from '../workspaces';
import { openReplay, sealReplay } from './refresh-replay';

type BootstrapResult = components['schemas']['BootstrapResult'];
type RuntimeToken = components['schemas']['RuntimeToken'];
type RefreshResult = components['schemas']['RefreshResult'];

export const INSTALL_TOKEN_PREFIX = 'skt';
export const REFRESH_TOKEN_PREFIX = 'srf';
const RUNTIME_TOKEN_LIFETIME_MS = 90 * 86_400_000;
/** A lease's runtime token this close to expiry comes back with a replacement. */
const REFRESH_WITHIN_MS = 7 * 86_400_000;
/**
 * The same install token again within this window, while the installation is untouched, is taken
 * for a retry and gets the first answer again; later it is refused.
 */
const IDEMPOTENT_BOOTSTRAP_SECONDS = 60;
/** The token_version of a bootstrap's runtime token: any refresh, recovery or renewal moves past it. */
const FIRST_TOKEN_VERSION = 1;
/**
 * A rotated refresh token presented again this soon, while its pair is still current, is taken
 * for a retry (a lost answer, a concurrent duplicate) and gets that pair again; later it is reuse.
 */
const REPLAY_GRACE_SECONDS = 30;
/** A lease lasts three heartbeat intervals, so one missed heartbeat does not make it stale. */
const LEASE_INTERVALS = 3;

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
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
    private readonly agents: AgentService,
    private readonly logger: Logger,
    private readonly audit: AuditService,
  ) {
    this.store = new InstallationStore(db);
  }

  private readonly store: InstallationStore;

  /** What the compliance report needs about an agent's credentials in a workspace. */
  credentialEvidence(agentId: string, workspaceId: string): Promise<CredentialEvidence> {
    return this.store.credentialEvidence(agentId, workspaceId);
  }

  async createInstallToken(principal: Principal, workspaceId: string, input: RequestBody<'createInstallToken'>) {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async (manager) => {
      await assertWorkspaceInOrg(manager, orgId, workspaceId);
      const agent = await this.agents.row(manager, orgId, input.agent_id);
      await this.assertAgentRunnable(manager, agent.id, workspaceId, agent.workspace_id);
      const token = newSecret(INSTALL_TOKEN_PREFIX);
      const expiresAt = new Date(Date.now() + (input.expiry_minutes ?? 15) * 60_000);
      await manager.query(
        `INSERT INTO install_tokens (token_digest, org_id, workspace_id, agent_id, expires_at) VALUES ($1, $2, $3, $4, $5)`,
        [digestSecret(token), orgId, workspaceId, agent.id, expiresAt],
      );
      return { token, expires_at: expiresAt.toISOString(), agent_id: input.agent_id, workspace_id: workspaceId };
    });
  }

  /**
   * One install token, one installation, one answer: the token row is locked, so of concurrent
   * bootstraps the first creates the installation and seals its credentials under the install
   * token, and the rest, within 60 s, get those same credentials back. A repeat never mints a
   * token: once the installation was refreshed, recovered or revoked, the install token is spent.
   */
  async bootstrap(input: RequestBody<'bootstrapInstallation'>): Promise<BootstrapResult> {
    if (!isWellFormedSecret(input.install_token, INSTALL_TOKEN_PREFIX)) throw refused('INSTALL_TOKEN_INVALID', 'The install token is not valid.');
    return this.db.transaction(async (manager) => {
      const [token] = await manager.query(
        `SELECT t.*, t.used_at > now() - make_interval(secs => ${IDEMPOTENT_BOOTSTRAP_SECONDS}) AS in_window, ${AGENT_STOPPED_SQL} AS agent_stopped
         FROM install_tokens t JOIN agents a ON a.id = t.agent_id
         WHERE t.token_digest = $1 FOR UPDATE OF t`,
        [digestSecret(input.install_token)],
      );
      if (!token) throw refused('INSTALL_TOKEN_INVALID', 'The install token is not valid.');
      if (token.agent_stopped) throw refused('CREDENTIAL_REVOKED', 'The agent is revoked or disabled.');
      if (token.expires_at.getTime() <= Date.now()) throw refused('INSTALL_TOKEN_EXPIRED', 'The install token has expired.');
      if (token.used_at) {
        const [installation] = await manager.query(`SELECT token_version, revoked_at FROM installations WHERE id = $1`, [token.installation_id]);
        const isRetry = token.in_window && token.replay_ciphertext && installation?.revoked_at === null && installation.token_version === FIRST_TOKEN_VERSION;
        if (!isRetry) throw refused('INSTALL_TOKEN_USED', 'The install token has been used; use recovery to re-bootstrap.');
        noteActor(installationActor(token, token.installation_id));
        return openReplay<BootstrapResult>(input.install_token, token.installation_id, token.replay_ciphertext);
      }
      const result = await this.createInstallation(manager, { orgId: token.org_id, workspaceId: token.workspace_id, agentId: token.agent_id }, input);
      await manager.query(`UPDATE install_tokens SET used_at = now(), installation_id = $2, replay_ciphertext = $3 WHERE token_digest = $1`, [
        token.token_digest,
        result.installation_id,
        sealReplay(input.install_token, result.installation_id, result),
      ]);
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
  async lease(principal: Principal, installationId: string, input: RequestBody<'renewInstallationLease'>, request: RequestFacts) {
    if (principal.installationId !== installationId) {
      throw new ForbiddenError("A runtime token works only on its own installation's lease.", 'NOT_THIS_INSTALLATION');
    }
    // One autocommitted UPDATE on the hot path; a transaction only when a token is replaced.
    const [[row]] = await this.db.untypedQuery(
      `UPDATE installations i SET
         reported_status = $2,
         heartbeat_interval = COALESCE($3, i.heartbeat_interval),
         health_payload = COALESCE($4, i.health_payload),
         lease_expires_at = now() + make_interval(secs => ${LEASE_INTERVALS} * COALESCE($3, i.heartbeat_interval)),
         last_lease_at = now()
       FROM agents a WHERE i.id = $1 AND a.id = i.agent_id
       RETURNING i.workspace_id, i.lease_expires_at, i.heartbeat_interval, i.revoked_at, i.revoke_reason, i.shutdown_timeout_ms,
         a.status AS agent_status, a.disabled_reason, ${AGENT_STOPPED_SQL} AS agent_stopped`,
      [installationId, input?.status ?? 'running', input?.heartbeat_interval_seconds ?? null, input?.health_payload ?? null],
    );
    const command = row.revoked_at
      ? {
          type: 'shutdown' as const,
          reason: row.revoke_reason as string,
          timeout_ms: Math.max(0, row.revoked_at.getTime() + row.shutdown_timeout_ms - Date.now()),
        }
      : row.agent_stopped
        ? { type: 'shutdown' as const, reason: row.agent_status === 'revoked' ? 'agent revoked' : `agent disabled: ${row.disabled_reason}`, timeout_ms: 0 }
        : null;
    const refreshed_token =
      !command && principal.expiresAt!.getTime() - Date.now() < REFRESH_WITHIN_MS
        ? await this.db.transaction(async (manager) => {
            const runtime = await this.issueRuntimeToken(manager, installationId, await this.nextVersion(manager, installationId));
            await this.audit.append({
              orgId: principal.orgId,
              actor: actorOf(principal),
              workspaceId: row.workspace_id,
              action: 'installation.runtime_token_renewed',
              resourceType: 'installation',
              resourceId: installationId,
              outcome: 'success',
              ...request,
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
  async refresh(installationId: string, refreshToken: string, request: RequestFacts): Promise<RefreshResult | UnauthorizedError> {
    const invalid = () => refused('REFRESH_TOKEN_INVALID', 'The refresh token is not valid for this installation.');
    const stopped = () => refused('CREDENTIAL_REVOKED', 'The installation or its agent is revoked or disabled.');
    if (!isWellFormedSecret(refreshToken, REFRESH_TOKEN_PREFIX)) throw invalid();
    const digest = digestSecret(refreshToken);
    return this.db.transaction(async (manager) => {
      const [installation] = await manager.query(
        `SELECT i.id, i.org_id, i.workspace_id, i.token_version, i.refresh_token_digest, i.revoked_at, ${AGENT_STOPPED_SQL} AS agent_stopped
         FROM installations i JOIN agents a ON a.id = i.agent_id WHERE i.id = $1 FOR UPDATE OF i`,
        [installationId],
      );
      if (!installation) throw invalid();
      const isStopped = installation.revoked_at !== null || installation.agent_stopped;
      if (installation.refresh_token_digest?.equals(digest)) {
        if (isStopped) throw stopped();
        noteActor(installationActor(installation, installationId));
        return this.rotate(manager, installationId, refreshToken);
      }
      const [spent] = await manager.query(
        `SELECT replacement_version, replay_ciphertext, superseded_at > now() - make_interval(secs => ${REPLAY_GRACE_SECONDS}) AS in_grace
         FROM superseded_refresh_tokens WHERE token_digest = $1 AND installation_id = $2`,
        [digest, installationId],
      );
      if (!spent) throw invalid();
      if (spent.in_grace && spent.replay_ciphertext && spent.replacement_version === installation.token_version) {
        if (isStopped) throw stopped();
        noteActor(installationActor(installation, installationId));
        return openReplay<RefreshResult>(refreshToken, installationId, spent.replay_ciphertext);
      }
      await manager.query(`UPDATE installations SET refresh_token_digest = NULL, token_version = token_version + 1 WHERE id = $1`, [installationId]);
      await manager.query(`UPDATE superseded_refresh_tokens SET replay_ciphertext = NULL WHERE installation_id = $1 AND replay_ciphertext IS NOT NULL`, [installationId]);
      await this.audit.append({
        orgId: installation.org_id,
        actor: { type: 'anonymous', id: null },
        workspaceId: installation.workspace_id,
        action: 'installation.refresh_token_reused',
        resourceType: 'installation',
        resourceId: installationId,
        outcome: 'denied',
        ...request,
        details: { revoked: 'every runtime and refresh token of the installation' },
      });
      this.logger.warn({ installation_id: installationId }, 'spent refresh token presented again: every token of the installation is revoked');
      return refused('REFRESH_TOKEN_REUSED', 'This refresh token was replaced; every token of the installation is now revoked. Use recovery.');
    });
  }

  /**
   * Erases the sealed answers (of refreshes and bootstraps) whose window has closed. Rows another
   * transaction holds are skipped (left for the next run), so sweeps of several instances never
   * wait on each other.
   */
  async forgetExpiredReplays(): Promise<void> {
    const sweeps = [
      ['superseded_refresh_tokens', 'superseded_at', REPLAY_GRACE_SECONDS],
      ['install_tokens', 'used_at', IDEMPOTENT_BOOTSTRAP_SECONDS],
    ] as const;
    for (const [table, sealedAt, windowSeconds] of sweeps) {
      await this.db.untypedQuery(
        `UPDATE ${table} SET replay_ciphertext = NULL WHERE token_digest IN (
           SELECT token_digest FROM ${table}
           WHERE replay_ciphertext IS NOT NULL AND ${sealedAt} <= now() - make_interval(secs => ${windowSeconds})
           FOR UPDATE SKIP LOCKED)`,
      );
    }
  }

  /** Re-bootstrap without an install token: new runtime and refresh tokens; earlier refresh tokens die. */
  async recover(principal: Principal, input: RequestBody<'recoverInstallation'>): Promise<BootstrapResult> {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async (manager) => {
      await assertWorkspaceInOrg(manager, orgId, input.workspace_id);
      const agent = await this.agents.row(manager, orgId, input.agent_id);
      await this.assertAgentRunnable(manager, agent.id, input.workspace_id, agent.workspace_id);
      const [installation] = await manager.query(
        `SELECT id, refresh_token_digest FROM installations WHERE agent_id = $1 AND workspace_id = $2 AND revoked_at IS NULL
         ORDER BY id DESC LIMIT 1 FOR UPDATE`,
        [agent.id, input.workspace_id],
      );
      if (!installation) return this.createInstallation(manager, { orgId, workspaceId: input.workspace_id, agentId: agent.id }, input);
      if (installation.refresh_token_digest) {
        await manager.query(`INSERT INTO superseded_refresh_tokens (token_digest, installation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          installation.refresh_token_digest,
          installation.id,
        ]);
      }
      const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
      const [[updated]] = await manager.query(
        `UPDATE installations SET refresh_token_digest = $2, token_version = token_version + 1,
           upstream_url = COALESCE($3, upstream_url), capabilities = COALESCE($4, capabilities), heartbeat_interval = COALESCE($5, heartbeat_interval)
         WHERE id = $1 RETURNING token_version, heartbeat_interval`,
        [installation.id, digestSecret(refreshToken), input.upstream_url ?? null, input.capabilities ?? null, input.heartbeat_interval_seconds ?? null],
      );
      const runtime = await this.issueRuntimeToken(manager, installation.id, updated.token_version);
      return {
        installation_id: installation.id,
        runtime_token: runtime.runtime_token,
        refresh_token: refreshToken,
        expires_at: runtime.expires_at,
        heartbeat_interval: updated.heartbeat_interval,
      };
    });
  }

  async registerBeacon(principal: Principal, installationId: string, input: RequestBody<'registerInstallationBeacon'>) {
    const orgId = await this.orgs.scope(principal);
    const [rows] = await this.db.untypedQuery(
      `UPDATE installations SET beacon_platform = $3, beacon_metadata = $4, beacon_registered_at = now()
       WHERE id = $1 AND org_id = $2 RETURNING beacon_registered_at`,
      [installationId, orgId, input.platform, input.metadata ?? {}],
    );
    if (!rows[0]) throw installationNotFound(installationId);
    return { installation_id: installationId, platform: input.platform, metadata: input.metadata ?? {}, registered_at: rows[0].beacon_registered_at.toISOString() };
  }

  /** The refresh token dies now; the next lease says shutdown; the runtime token dies at the deadline. */
  async revoke(principal: Principal, installationId: string, input: RequestBody<'revokeInstallation'>) {
    const orgId = await this.orgs.scope(principal);
    const [rows] = await this.db.untypedQuery(
      `UPDATE installations SET revoked_at = COALESCE(revoked_at, now()), revoke_reason = COALESCE(revoke_reason, $3),
         shutdown_timeout_ms = COALESCE(shutdown_timeout_ms, $4), refresh_token_digest = NULL
       WHERE id = $1 AND org_id = $2 RETURNING revoked_at, revoke_reason, shutdown_timeout_ms`,
      [installationId, orgId, input.reason, input.shutdown_timeout_ms ?? 0],
    );
    if (!rows[0]) throw installationNotFound(installationId);
    const row = rows[0];
    return {
      installation_id: installationId,
      status: 'revoked' as const,
      reason: row.revoke_reason as string,
      shutdown_deadline: new Date(row.revoked_at.getTime() + row.shutdown_timeout_ms).toISOString(),
    };
  }

  private async createInstallation(manager: EntityManager, owner: { orgId: string; workspaceId: string; agentId: string }, setup: Setup): Promise<BootstrapResult> {
    const installationId = newId('inst');
    const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
    const heartbeatInterval = setup.heartbeat_interval_seconds ?? 60;
    await manager.query(
      `INSERT INTO installations (id, org_id, workspace_id, agent_id, upstream_url, capabilities, heartbeat_interval, refresh_token_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [installationId, owner.orgId, owner.workspaceId, owner.agentId, setup.upstream_url ?? null, setup.capabilities ?? [], heartbeatInterval, digestSecret(refreshToken)],
    );
    const runtime = await this.issueRuntimeToken(manager, installationId, FIRST_TOKEN_VERSION);
    return { installation_id: installationId, runtime_token: runtime.runtime_token, refresh_token: refreshToken, expires_at: runtime.expires_at, heartbeat_interval: heartbeatInterval };
  }

  /**
   * Spends the refresh token: a new pair, the old token kept (as a digest) for reuse detection
   * with the pair sealed under it for the grace window (forgetExpiredReplays erases it later).
   */
  private async rotate(manager: EntityManager, installationId: string, refreshToken: string): Promise<RefreshResult> {
    const next = newSecret(REFRESH_TOKEN_PREFIX);
    const [[row]] = await manager.query(
      `UPDATE installations SET refresh_token_digest = $2, token_version = token_version + 1, last_refreshed_at = now() WHERE id = $1 RETURNING token_version`,
      [installationId, digestSecret(next)],
    );
    const pair: RefreshResult = { ...(await this.issueRuntimeToken(manager, installationId, row.token_version)), refresh_token: next };
    await manager.query(`INSERT INTO superseded_refresh_tokens (token_digest, installation_id, replacement_version, replay_ciphertext) VALUES ($1, $2, $3, $4)`, [
      digestSecret(refreshToken),
      installationId,
      row.token_version,
      sealReplay(refreshToken, installationId, pair),
    ]);
    return pair;
  }

  private async nextVersion(manager: EntityManager, installationId: string): Promise<number> {
    const [[row]] = await manager.query(`UPDATE installations SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version`, [installationId]);
    return row.token_version;
  }

  private async issueRuntimeToken(manager: EntityManager, installationId: string, version: number): Promise<RuntimeToken> {
    const token = newSecret(RUNTIME_TOKEN_PREFIX);
    const expiresAt = new Date(Date.now() + RUNTIME_TOKEN_LIFETIME_MS);
    await manager.query(`INSERT INTO runtime_tokens (token_digest, installation_id, token_version, expires_at) VALUES ($1, $2, $3, $4)`, [
      digestSecret(token),
      installationId,
      version,
      expiresAt,
    ]);
    return { runtime_token: token, expires_at: expiresAt.toISOString(), token_version: version };
  }

  /** 409 for a stopped agent, or one that belongs to another workspace. */
  private async assertAgentRunnable(manager: EntityManager, agentId: string, workspaceId: string, agentWorkspaceId: string | null): Promise<void> {
    const [row] = await manager.query(`SELECT ${AGENT_STOPPED_SQL} AS stopped FROM agents a WHERE a.id = $1`, [agentId]);
    if (row.stopped) throw new ConflictError('The agent is revoked or disabled.', 'AGENT_STOPPED');
    if (agentWorkspaceId && agentWorkspaceId !== workspaceId) {
      throw new ConflictError(`The agent belongs to workspace '${agentWorkspaceId}'.`, 'AGENT_IN_OTHER_WORKSPACE');
    }
  }
}
