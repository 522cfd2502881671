import type { operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { Jwk, SigningKey } from '../../auth/signing-key';
import type { Db } from '../../db/db';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import { canonicalJson } from '../../lib/canonical-json';
import { type AgentRow, type AgentService, decodeSignature, effectiveStatus, keyFingerprint, keyProven, verifySignature } from '../agents';
import type { AuditService } from '../audit';
import { type InstallationService, installationStatus } from '../installations';
import type { OrgService } from '../orgs';

type Reason = operations['verifyTrust']['responses']['200']['content']['application/json']['reasons'][number];
type VerifyTrustInput = operations['verifyTrust']['requestBody']['content']['application/json'];
type CreateTrustHeadersInput = operations['createTrustHeaders']['requestBody']['content']['application/json'];

/** How long a receiver should accept signed trust headers. */
const HEADER_LIFETIME_MS = 5 * 60_000;

const agentNotFound = (ref: string) => new NotFoundError(`No registered agent '${ref}' exists in this org.`, 'AGENT_NOT_FOUND');

/**
 * The trust protocol: checking an agent's own Ed25519 signatures against its registered key,
 * its profile for relying parties, and headers Warden signs with its own Ed25519 key (kept as
 * a seed in the database, so every instance signs with the same key and publishes one JWKS).
 */
export class TrustService {
  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'findBySekuireId'>,
    private readonly installations: Pick<InstallationService, 'isInstalled' | 'summariesOf'>,
    private readonly signingKey: SigningKey,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {}

  async verify(principal: Principal, input: VerifyTrustInput) {
    const agent = await this.registeredAgent(principal, input.sekuire_id);
    const signature = decodeSignature(input.signature);
    const message = Buffer.from(canonicalJson({ context: input.context ?? {}, sekuire_id: input.sekuire_id }), 'utf8');
    const signatureValid = verifySignature(message, agent.public_key!, signature);
    const status = effectiveStatus(agent);
    const reasons: Reason[] = [
      signatureValid ? 'signature_valid' : 'signature_invalid',
      keyProven(agent) ? 'key_proven' : 'key_unproven',
      `agent_${status}`,
    ];
    const workspaceId = input.context?.workspace_id;
    if (workspaceId !== undefined) {
      const installed = await this.installations.isInstalled(agent.id, String(workspaceId));
      reasons.push(installed ? 'installed_in_workspace' : 'not_installed_in_workspace');
    }
    return {
      valid: signatureValid && keyProven(agent) && status === 'active' && !reasons.includes('not_installed_in_workspace'),
      sekuire_id: input.sekuire_id,
      did: `did:sekuire:${input.sekuire_id}`,
      reasons,
      checked_at: new Date().toISOString(),
    };
  }

  async profile(principal: Principal, did: string) {
    const sekuireId = did.slice('did:sekuire:'.length);
    const agent = await this.registeredAgent(principal, sekuireId);
    const installations = await this.installations.summariesOf(agent.id);
    const lastSeen = [agent.last_seen_at, ...installations.map((installation) => installation.last_lease_at)]
      .filter((seen): seen is Date => seen !== null)
      .sort((a, b) => b.getTime() - a.getTime())[0];
    const status = effectiveStatus(agent);
    return {
      did,
      sekuire_id: sekuireId,
      name: agent.name,
      version: agent.version,
      status,
      verified: keyProven(agent),
      key_proven_at: agent.key_proven_at?.toISOString() ?? null,
      public_key: agent.public_key!,
      key_fingerprint: keyFingerprint(agent.public_key!),
      registered_at: agent.created_at.toISOString(),
      last_seen_at: lastSeen?.toISOString() ?? null,
      revoked_at: agent.revoked_at?.toISOString() ?? null,
      disabled_reason: status === 'disabled' ? agent.disabled_reason : null,
      installations: installations.map((installation) => ({
        id: installation.id,
        workspace_id: installation.workspace_id,
        status: installationStatus(installation),
        lease_expires_at: installation.lease_expires_at?.toISOString() ?? null,
        platform: installation.beacon_platform,
        created_at: installation.created_at.toISOString(),
      })),
    };
  }

  /**
   * Signed outside any transaction: the first use of Warden's key reads it on a connection of
   * its own, which the embedded database (one session) cannot give while a transaction holds
   * its only one. Signing changes nothing else, so the audit event is the operation's one write.
   */
  async headers(principal: Principal, input: CreateTrustHeadersInput) {
    const agent = await this.registeredAgent(principal, input.sekuire_id);
    if (!keyProven(agent)) {
      throw new ConflictError(
        'Warden vouches only for keys whose possession this org has proven (POST /agents/{id}/verify).',
        'KEY_NOT_PROVEN',
      );
    }
    if (effectiveStatus(agent) !== 'active') throw new ConflictError('Warden vouches only for active agents.', 'AGENT_STOPPED');
    const { kid } = await this.signingKey.jwk();
    const timestamp = new Date();
    const signed = {
      agent: `did:sekuire:${input.sekuire_id}`,
      body_sha256: input.request_body_hash,
      key_id: kid,
      timestamp: timestamp.toISOString(),
    };
    const signature = (await this.signingKey.sign(Buffer.from(canonicalJson(signed), 'utf8'))).signature.toString('base64url');
    const vouched = {
      headers: {
        'X-Warden-Agent': signed.agent,
        'X-Warden-Body-SHA256': signed.body_sha256,
        'X-Warden-Timestamp': signed.timestamp,
        'X-Warden-Key-Id': signed.key_id,
        'X-Warden-Signature': signature,
      },
      expires_at: new Date(timestamp.getTime() + HEADER_LIFETIME_MS).toISOString(),
    };
    await this.db.transaction(() =>
      this.audit.append({
        orgId: agent.org_id,
        actor: actorOf(principal),
        workspaceId: agent.workspace_id,
        action: 'trust.headers_signed',
        resourceType: 'agent',
        resourceId: agent.id,
        outcome: 'success',
        ...currentRequestFacts(),
        details: { operation_id: 'createTrustHeaders', status: 200, after: vouched },
      }),
    );
    return vouched;
  }

  async jwks(): Promise<{ keys: Jwk[] }> {
    return { keys: [await this.signingKey.jwk()] };
  }

  /** A registered (key-holding) agent of the caller's org, by sekuire_id; anything else is 404. */
  private async registeredAgent(principal: Principal, sekuireId: string): Promise<AgentRow> {
    const orgId = await this.orgs.scope(principal);
    const agent = await this.agents.findBySekuireId(orgId, sekuireId);
    if (!agent?.public_key) throw agentNotFound(sekuireId);
    return agent;
  }
}
