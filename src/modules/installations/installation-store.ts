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

/** Every SQL statement on `installations`, `install_tokens`, `runtime_tokens` and `superseded_refresh_tokens`. */
export class InstallationStore {
  constructor(private readonly db: Db) {}

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
       WHERE i.agent_id = $1 AND i.workspace_id = $2 AND i.revoked_at IS NULL AND rt.token_version = i.token_version AND rt.expires_at > now()`,
      [agentId, workspaceId],
    );
    return { installations, installTokens: installTokens!, runtimeTokens: runtimeTokens! };
  }
}
