import type { Db } from '../../db/db';

/** An installation as the compliance report reads it. */
export interface InstallationEvidence {
  id: string;
  created_at: Date;
  token_version: number;
  last_refreshed_at: Date | null;
  last_lease_at: Date | null;
  lease_expires_at: Date | null;
  revoked_at: Date | null;
  revoke_reason: string | null;
}

export interface CredentialEvidence {
  installations: InstallationEvidence[];
  installTokens: { issued: number; used: number; expired_unused: number; outstanding: number };
  runtimeTokens: { active: number; expiring: number };
}

/**
 * The same install token again within this window, while the installation is untouched, is taken
 * for a retry and gets the first answer again; later it is refused.
 */
const IDEMPOTENT_BOOTSTRAP_SECONDS = 60;
/**
 * A rotated refresh token presented again this soon, while its pair is still current, is taken
 * for a retry (a lost answer, a concurrent duplicate) and gets that pair again; later it is reuse.
 */
const REPLAY_GRACE_SECONDS = 30;
/** A lease lasts three heartbeat intervals, so one missed heartbeat does not make it stale. */
const LEASE_INTERVALS = 3;
/**
 * The agents module's "stopped" (AgentService.isStopped) of the agent `a`, read in the same
 * statement as the installation on the lease, bootstrap and refresh paths: one round trip each.
 */
const AGENT_STOPPED = `(a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())))`;

export interface RuntimeTokenOwner {
  expires_at: Date;
  /** Whether the token is of the installation's current token version. */
  current: boolean;
  id: string;
  org_id: string;
  agent_id: string;
}

export interface InstallTokenRow {
  token_digest: Buffer;
  org_id: string;
  workspace_id: string;
  agent_id: string;
  expires_at: Date;
  used_at: Date | null;
  installation_id: string | null;
  replay_ciphertext: Buffer | null;
  in_window: boolean | null;
  agent_stopped: boolean;
}

export interface LeaseRow {
  workspace_id: string;
  lease_expires_at: Date;
  heartbeat_interval: number;
  revoked_at: Date | null;
  revoke_reason: string | null;
  shutdown_timeout_ms: number;
  agent_status: string;
  disabled_reason: string | null;
  agent_stopped: boolean;
}

export interface RefreshableInstallation {
  id: string;
  org_id: string;
  workspace_id: string;
  token_version: number;
  refresh_token_digest: Buffer | null;
  revoked_at: Date | null;
  agent_stopped: boolean;
}

export interface SupersededRefreshToken {
  replacement_version: number | null;
  replay_ciphertext: Buffer | null;
  in_grace: boolean;
}

export interface NewInstallation {
  id: string;
  orgId: string;
  workspaceId: string;
  agentId: string;
  upstreamUrl: string | null;
  capabilities: string[];
  heartbeatInterval: number;
  refreshTokenDigest: Buffer;
}

/** What a renewal or re-bootstrap reports; null keeps the value the installation has. */
export interface InstallationSetup {
  upstreamUrl: string | null;
  capabilities: string[] | null;
  heartbeatInterval: number | null;
}

/** An installation as the agent's trust profile lists it. */
export interface InstallationSummary {
  id: string;
  workspace_id: string;
  lease_expires_at: Date | null;
  last_lease_at: Date | null;
  revoked_at: Date | null;
  beacon_platform: string | null;
  created_at: Date;
}

/** Every SQL statement on `installations`, `install_tokens`, `runtime_tokens` and `superseded_refresh_tokens`. */
export class InstallationStore {
  constructor(private readonly db: Db) {}

  async findRuntimeToken(digest: Buffer): Promise<RuntimeTokenOwner | undefined> {
    const { rows } = await this.db.query<RuntimeTokenOwner>(
      `SELECT t.expires_at, t.token_version = i.token_version AS current, i.id, i.org_id, i.agent_id
       FROM runtime_tokens t JOIN installations i ON i.id = t.installation_id WHERE t.token_digest = $1`,
      [digest],
      { prepared: true },
    );
    return rows[0];
  }

  async insertInstallToken(token: { digest: Buffer; orgId: string; workspaceId: string; agentId: string; expiresAt: Date }): Promise<void> {
    await this.db.query(
      `INSERT INTO install_tokens (token_digest, org_id, workspace_id, agent_id, expires_at) VALUES ($1, $2, $3, $4, $5)`,
      [token.digest, token.orgId, token.workspaceId, token.agentId, token.expiresAt],
    );
  }

  /** The install token, locked, with whether a repeat is still within the retry window and whether its agent is stopped. */
  async lockInstallToken(digest: Buffer): Promise<InstallTokenRow | undefined> {
    const { rows } = await this.db.query<InstallTokenRow>(
      `SELECT t.*, t.used_at > now() - make_interval(secs => ${IDEMPOTENT_BOOTSTRAP_SECONDS}) AS in_window,
         ${AGENT_STOPPED} AS agent_stopped
       FROM install_tokens t JOIN agents a ON a.id = t.agent_id
       WHERE t.token_digest = $1 FOR UPDATE OF t`,
      [digest],
    );
    return rows[0];
  }

  async markInstallTokenUsed(digest: Buffer, installationId: string, replayCiphertext: Buffer): Promise<void> {
    await this.db.query(`UPDATE install_tokens SET used_at = now(), installation_id = $2, replay_ciphertext = $3 WHERE token_digest = $1`, [
      digest,
      installationId,
      replayCiphertext,
    ]);
  }

  async findTokenState(installationId: string): Promise<{ token_version: number; revoked_at: Date | null } | undefined> {
    const { rows } = await this.db.query<{ token_version: number; revoked_at: Date | null }>(
      `SELECT token_version, revoked_at FROM installations WHERE id = $1`,
      [installationId],
    );
    return rows[0];
  }

  async insert(installation: NewInstallation): Promise<void> {
    await this.db.query(
      `INSERT INTO installations (id, org_id, workspace_id, agent_id, upstream_url, capabilities, heartbeat_interval, refresh_token_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        installation.id,
        installation.orgId,
        installation.workspaceId,
        installation.agentId,
        installation.upstreamUrl,
        installation.capabilities,
        installation.heartbeatInterval,
        installation.refreshTokenDigest,
      ],
    );
  }

  /** Records the report and extends the lease by three intervals, in one autocommitted statement that also reads the agent's state. */
  async renewLease(
    installationId: string,
    report: { status: string; heartbeatInterval: number | null; healthPayload: unknown },
  ): Promise<LeaseRow> {
    const { rows } = await this.db.query<LeaseRow>(
      `UPDATE installations i SET
         reported_status = $2,
         heartbeat_interval = COALESCE($3, i.heartbeat_interval),
         health_payload = COALESCE($4, i.health_payload),
         lease_expires_at = now() + make_interval(secs => ${LEASE_INTERVALS} * COALESCE($3, i.heartbeat_interval)),
         last_lease_at = now()
       FROM agents a WHERE i.id = $1 AND a.id = i.agent_id
       RETURNING i.workspace_id, i.lease_expires_at, i.heartbeat_interval, i.revoked_at, i.revoke_reason, i.shutdown_timeout_ms,
         a.status AS agent_status, a.disabled_reason, ${AGENT_STOPPED} AS agent_stopped`,
      [installationId, report.status, report.heartbeatInterval, report.healthPayload],
      { prepared: true },
    );
    return rows[0]!;
  }

  async lockForRefresh(installationId: string): Promise<RefreshableInstallation | undefined> {
    const { rows } = await this.db.query<RefreshableInstallation>(
      `SELECT i.id, i.org_id, i.workspace_id, i.token_version, i.refresh_token_digest, i.revoked_at, ${AGENT_STOPPED} AS agent_stopped
       FROM installations i JOIN agents a ON a.id = i.agent_id WHERE i.id = $1 FOR UPDATE OF i`,
      [installationId],
    );
    return rows[0];
  }

  /** The spent refresh token of the installation, and whether it is still within the retry grace. */
  async findSuperseded(digest: Buffer, installationId: string): Promise<SupersededRefreshToken | undefined> {
    const { rows } = await this.db.query<SupersededRefreshToken>(
      `SELECT replacement_version, replay_ciphertext, superseded_at > now() - make_interval(secs => ${REPLAY_GRACE_SECONDS}) AS in_grace
       FROM superseded_refresh_tokens WHERE token_digest = $1 AND installation_id = $2`,
      [digest, installationId],
    );
    return rows[0];
  }

  /** Every runtime and refresh token of the installation dies, and no sealed pair of it can be opened again. */
  async revokeTokenFamily(installationId: string): Promise<void> {
    await this.db.query(`UPDATE installations SET refresh_token_digest = NULL, token_version = token_version + 1 WHERE id = $1`, [
      installationId,
    ]);
    await this.db.query(
      `UPDATE superseded_refresh_tokens SET replay_ciphertext = NULL WHERE installation_id = $1 AND replay_ciphertext IS NOT NULL`,
      [installationId],
    );
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
      await this.db.query(
        `UPDATE ${table} SET replay_ciphertext = NULL WHERE token_digest IN (
           SELECT token_digest FROM ${table}
           WHERE replay_ciphertext IS NOT NULL AND ${sealedAt} <= now() - make_interval(secs => ${windowSeconds})
           FOR UPDATE SKIP LOCKED)`,
      );
    }
  }

  /** The agent's newest unrevoked installation in the workspace, locked. */
  async lockCurrent(agentId: string, workspaceId: string): Promise<{ id: string; refresh_token_digest: Buffer | null } | undefined> {
    const { rows } = await this.db.query<{ id: string; refresh_token_digest: Buffer | null }>(
      `SELECT id, refresh_token_digest FROM installations WHERE agent_id = $1 AND workspace_id = $2 AND revoked_at IS NULL
       ORDER BY id DESC LIMIT 1 FOR UPDATE`,
      [agentId, workspaceId],
    );
    return rows[0];
  }

  /** Keeps a spent refresh token for reuse detection. */
  async supersede(digest: Buffer, installationId: string): Promise<void> {
    await this.db.query(`INSERT INTO superseded_refresh_tokens (token_digest, installation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      digest,
      installationId,
    ]);
  }

  /** Keeps a rotated refresh token for reuse detection, with the pair it was exchanged for sealed for a retry. */
  async supersedeWithReplay(digest: Buffer, installationId: string, replacementVersion: number, replayCiphertext: Buffer): Promise<void> {
    await this.db.query(
      `INSERT INTO superseded_refresh_tokens (token_digest, installation_id, replacement_version, replay_ciphertext)
       VALUES ($1, $2, $3, $4)`,
      [digest, installationId, replacementVersion, replayCiphertext],
    );
  }

  /** A new refresh token and token version after recovery, with whatever setup the caller reports. */
  async recover(
    installationId: string,
    refreshTokenDigest: Buffer,
    setup: InstallationSetup,
  ): Promise<{ token_version: number; heartbeat_interval: number }> {
    const { rows } = await this.db.query<{ token_version: number; heartbeat_interval: number }>(
      `UPDATE installations SET refresh_token_digest = $2, token_version = token_version + 1,
         upstream_url = COALESCE($3, upstream_url), capabilities = COALESCE($4, capabilities),
         heartbeat_interval = COALESCE($5, heartbeat_interval)
       WHERE id = $1 RETURNING token_version, heartbeat_interval`,
      [installationId, refreshTokenDigest, setup.upstreamUrl, setup.capabilities, setup.heartbeatInterval],
    );
    return rows[0]!;
  }

  /** The new refresh token's digest; returns the new token version. */
  async rotateRefreshToken(installationId: string, refreshTokenDigest: Buffer): Promise<number> {
    const { rows } = await this.db.query<{ token_version: number }>(
      `UPDATE installations SET refresh_token_digest = $2, token_version = token_version + 1, last_refreshed_at = now()
       WHERE id = $1 RETURNING token_version`,
      [installationId, refreshTokenDigest],
    );
    return rows[0]!.token_version;
  }

  async nextTokenVersion(installationId: string): Promise<number> {
    const { rows } = await this.db.query<{ token_version: number }>(
      `UPDATE installations SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version`,
      [installationId],
    );
    return rows[0]!.token_version;
  }

  async insertRuntimeToken(digest: Buffer, installationId: string, version: number, expiresAt: Date): Promise<void> {
    await this.db.query(`INSERT INTO runtime_tokens (token_digest, installation_id, token_version, expires_at) VALUES ($1, $2, $3, $4)`, [
      digest,
      installationId,
      version,
      expiresAt,
    ]);
  }

  /** Undefined when the org has no such installation. */
  async registerBeacon(
    installationId: string,
    orgId: string,
    platform: string,
    metadata: object,
  ): Promise<{ beacon_registered_at: Date } | undefined> {
    const { rows } = await this.db.query<{ beacon_registered_at: Date }>(
      `UPDATE installations SET beacon_platform = $3, beacon_metadata = $4, beacon_registered_at = now()
       WHERE id = $1 AND org_id = $2 RETURNING beacon_registered_at`,
      [installationId, orgId, platform, metadata],
    );
    return rows[0];
  }

  /** The first revocation's reason and deadline stand; undefined when the org has no such installation. */
  async revoke(
    installationId: string,
    orgId: string,
    reason: string,
    shutdownTimeoutMs: number,
  ): Promise<{ revoked_at: Date; revoke_reason: string; shutdown_timeout_ms: number } | undefined> {
    const { rows } = await this.db.query<{ revoked_at: Date; revoke_reason: string; shutdown_timeout_ms: number }>(
      `UPDATE installations SET revoked_at = COALESCE(revoked_at, now()), revoke_reason = COALESCE(revoke_reason, $3),
         shutdown_timeout_ms = COALESCE(shutdown_timeout_ms, $4), refresh_token_digest = NULL
       WHERE id = $1 AND org_id = $2 RETURNING revoked_at, revoke_reason, shutdown_timeout_ms`,
      [installationId, orgId, reason, shutdownTimeoutMs],
    );
    return rows[0];
  }

  async isInstalled(agentId: string, workspaceId: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `SELECT 1 FROM installations WHERE agent_id = $1 AND workspace_id = $2 AND revoked_at IS NULL LIMIT 1`,
      [agentId, workspaceId],
    );
    return rows.length > 0;
  }

  /** The agent's newest 200 installations. */
  async summariesOf(agentId: string): Promise<InstallationSummary[]> {
    const { rows } = await this.db.query<InstallationSummary>(
      `SELECT id, workspace_id, lease_expires_at, last_lease_at, revoked_at, beacon_platform, created_at
       FROM installations WHERE agent_id = $1 ORDER BY id DESC LIMIT 200`,
      [agentId],
    );
    return rows;
  }

  /** Up to `limit` of the workspace's installation ids, in id order. */
  async idsIn(workspaceId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM (SELECT id FROM installations WHERE workspace_id = $1 LIMIT $2) i ORDER BY id`,
      [workspaceId, limit],
    );
    return rows.map((row) => row.id);
  }

  /** One agent's installations in one workspace (newest 200) and the counts of its install and runtime tokens. */
  async credentialEvidence(agentId: string, workspaceId: string): Promise<CredentialEvidence> {
    const { rows: installations } = await this.db.query<InstallationEvidence>(
      `SELECT id, created_at, token_version, last_refreshed_at, last_lease_at, lease_expires_at, revoked_at, revoke_reason
       FROM installations WHERE agent_id = $1 AND workspace_id = $2 ORDER BY id DESC LIMIT 200`,
      [agentId, workspaceId],
    );
    const {
      rows: [installTokens],
    } = await this.db.query<CredentialEvidence['installTokens']>(
      `SELECT count(*)::int AS issued, count(used_at)::int AS used,
         count(*) FILTER (WHERE used_at IS NULL AND expires_at <= now())::int AS expired_unused,
         count(*) FILTER (WHERE used_at IS NULL AND expires_at > now())::int AS outstanding
       FROM install_tokens WHERE agent_id = $1 AND workspace_id = $2`,
      [agentId, workspaceId],
    );
    const {
      rows: [runtimeTokens],
    } = await this.db.query<CredentialEvidence['runtimeTokens']>(
      `SELECT count(*)::int AS active, count(*) FILTER (WHERE rt.expires_at <= now() + interval '7 days')::int AS expiring
       FROM runtime_tokens rt JOIN installations i ON i.id = rt.installation_id
       WHERE i.agent_id = $1 AND i.workspace_id = $2 AND i.revoked_at IS NULL
         AND rt.token_version = i.token_version AND rt.expires_at > now()`,
      [agentId, workspaceId],
    );
    return { installations, installTokens: installTokens!, runtimeTokens: runtimeTokens! };
  }
}
