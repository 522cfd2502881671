import { AGENT_SECRET_PREFIX, type AgentCredentials, RUNTIME_TOKEN_PREFIX } from '../../auth/authenticator';
import { digestSecret, isWellFormedSecret } from '../../auth/credentials';
import type { Principal } from '../../auth/principal';
import { UnauthorizedError } from '../../errors/api-error';
import type { InstallationService } from '../installations';
import type { AgentService } from './agent-service';

const NO_PERMISSIONS: ReadonlySet<string> = new Set();
const malformed = () => new UnauthorizedError('The credential is not a well-formed Warden credential.', 'CREDENTIAL_MALFORMED');
const invalid = () => new UnauthorizedError('The credential is not valid.', 'CREDENTIAL_INVALID');
const revoked = () => new UnauthorizedError('The credential has been revoked.', 'CREDENTIAL_REVOKED');

/**
 * Agent secrets and installation runtime tokens, looked up by digest. Neither carries a
 * permission: they open only the agent's own routes and the installation's own lease.
 */
export class AgentCredentialLookup implements AgentCredentials {
  constructor(
    private readonly agents: Pick<AgentService, 'findBySecretDigest'>,
    private readonly installations: Pick<InstallationService, 'findRuntimeToken'>,
  ) {}

  async authenticateAgent(secret: string): Promise<Principal> {
    if (!isWellFormedSecret(secret, AGENT_SECRET_PREFIX)) throw malformed();
    const agent = await this.agents.findBySecretDigest(digestSecret(secret));
    if (!agent) throw invalid();
    if (agent.stopped) throw revoked();
    return principal('agent', agent.org_id, agent.id, null, null);
  }

  /**
   * A runtime token is good while it is the installation's current version and unexpired. The
   * token of a revoked installation or of a stopped agent still reaches the lease (the only
   * operation it opens), whose answer is then the shutdown command, however late it comes.
   */
  async authenticateInstallation(token: string): Promise<Principal> {
    if (!isWellFormedSecret(token, RUNTIME_TOKEN_PREFIX)) throw malformed();
    const row = await this.installations.findRuntimeToken(digestSecret(token));
    if (!row) throw invalid();
    if (!row.current) throw revoked();
    if (row.expires_at.getTime() <= Date.now()) throw new UnauthorizedError('The credential has expired.', 'CREDENTIAL_EXPIRED');
    return principal('installation', row.org_id, row.agent_id, row.id, row.expires_at);
  }
}

function principal(
  kind: 'agent' | 'installation',
  orgId: string,
  agentId: string,
  installationId: string | null,
  expiresAt: Date | null,
): Principal {
  return {
    kind,
    orgId,
    plan: null,
    userId: null,
    apiKeyId: null,
    sessionId: null,
    adminEmail: null,
    agentId,
    installationId,
    roles: [],
    permissions: NO_PERMISSIONS,
    expiresAt,
  };
}
