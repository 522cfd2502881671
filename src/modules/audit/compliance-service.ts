import type { components } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import { ForbiddenError } from '../../errors/api-error';
import { type AgentService, effectiveStatus, keyFingerprint } from '../agents';
import { type InstallationService, installationStatus } from '../installations';
import type { OrgService } from '../orgs';
import type { WorkspaceService } from '../workspaces';
import type { AuditService } from './audit-service';

export type ComplianceReport = components['schemas']['ComplianceReport'];
type Framework = components['schemas']['ComplianceFramework'];
type Control = ComplianceReport['controls'][number];
type Status = Control['status'];

const RECENT_EVENTS = 20;
/** What a report shows besides the audit trail: the agent (agent.read) and a fresh verification of the chain (audit.verify). */
const REPORT_ALSO_NEEDS = ['agent.read', 'audit.verify'] as const;
const DAY_MS = 86_400_000;

/** Evidence in, a status and its reasons out: one control of one framework. */
interface ControlRule {
  framework: Framework;
  control: string;
  title: string;
  judge(report: Omit<ComplianceReport, 'controls' | 'summary'>): { status: Status; evidence: string[] };
}

/**
 * Gathers the evidence about one agent in one workspace (identity, credentials, installations,
 * revocations, audit trail and a fresh chain verification) and judges each control of the
 * requested frameworks against it.
 */
export class ComplianceService {
  constructor(
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'row'>,
    private readonly installations: Pick<InstallationService, 'credentialEvidence'>,
    private readonly workspaces: Pick<WorkspaceService, 'assertInOrg'>,
    private readonly audit: Pick<AuditService, 'trailOf' | 'verifyChain'>,
  ) {}

  async report(principal: Principal, agentRef: string, workspaceId: string, frameworks: Framework[]): Promise<ComplianceReport> {
    // The report shows the agent and verifies the chain: audit.read alone must not be a way round either permission.
    for (const permission of REPORT_ALSO_NEEDS) {
      if (!principal.permissions.has(permission)) {
        throw new ForbiddenError(`A compliance report also needs the '${permission}' permission.`, 'PERMISSION_DENIED');
      }
    }
    const orgId = await this.orgs.scope(principal);
    const agent = await this.agents.row(orgId, agentRef);
    await this.workspaces.assertInOrg(orgId, workspaceId);
    const now = Date.now();

    const hasSecret = agent.has_secret;
    const {
      installations,
      installTokens: tokens,
      runtimeTokens: runtime,
    } = await this.installations.credentialEvidence(agent.id, workspaceId);
    // The agent's own events and those of its installations here, as resource or as actor.
    const subjects = [agent.id, ...installations.map((installation) => installation.id)];
    const { byAction: trail, recent } = await this.audit.trailOf(orgId, subjects, RECENT_EVENTS);
    const chain = await this.audit.verifyChain(orgId);

    const count = (action: string) => trail.find((row) => row.action === action)?.n ?? 0;
    const lastAt = (action: string) => trail.find((row) => row.action === action)?.last_at.toISOString() ?? null;
    const status = effectiveStatus(agent);
    const iso = (date: Date | null) => date?.toISOString() ?? null;
    const rotatedAt = installations.map((installation) => installation.last_refreshed_at).filter((date): date is Date => date !== null);

    const evidence: Omit<ComplianceReport, 'controls' | 'summary'> = {
      generated_at: new Date(now).toISOString(),
      organization_id: orgId,
      workspace_id: workspaceId,
      frameworks,
      agent: {
        id: agent.id,
        sekuire_id: agent.sekuire_id,
        did: agent.sekuire_id ? `did:sekuire:${agent.sekuire_id}` : null,
        name: agent.name,
        version: agent.version,
        identity: agent.public_key && agent.sekuire_id ? 'registered_key' : 'minted_secret',
        status,
        public_key_fingerprint: agent.public_key ? keyFingerprint(agent.public_key) : null,
        created_at: agent.created_at.toISOString(),
        disabled_reason: status === 'disabled' ? agent.disabled_reason : null,
        disabled_until: status === 'disabled' ? iso(agent.disabled_until) : null,
        revoked_at: iso(agent.revoked_at),
      },
      credentials: {
        agent_secret_issued: hasSecret,
        install_tokens: tokens,
        runtime_tokens: { active: runtime.active, expiring_within_7_days: runtime.expiring },
        refresh: {
          rotations: installations.reduce((sum, installation) => sum + installation.token_version - 1, 0),
          last_rotated_at: rotatedAt.length > 0 ? new Date(Math.max(...rotatedAt.map((date) => date.getTime()))).toISOString() : null,
          reuse_detected: count('installation.refresh_token_reused'),
        },
      },
      installations: installations.map((installation) => ({
        id: installation.id,
        status: installationStatus(installation, now),
        created_at: installation.created_at.toISOString(),
        token_version: installation.token_version,
        last_refreshed_at: iso(installation.last_refreshed_at),
        last_lease_at: iso(installation.last_lease_at),
        lease_expires_at: iso(installation.lease_expires_at),
        revoked_at: iso(installation.revoked_at),
        revoke_reason: installation.revoke_reason,
      })),
      revocations: [
        ...(agent.revoked_at ? [{ kind: 'agent_revoked' as const, id: agent.id, at: iso(agent.revoked_at), reason: null }] : []),
        ...(status === 'disabled'
          ? [{ kind: 'agent_disabled' as const, id: agent.id, at: lastAt('agent.killed'), reason: agent.disabled_reason }]
          : []),
        ...installations
          .filter((installation) => installation.revoked_at)
          .map((installation) => ({
            kind: 'installation_revoked' as const,
            id: installation.id,
            at: iso(installation.revoked_at),
            reason: installation.revoke_reason,
          })),
      ],
      audit: {
        events: trail.reduce((sum, row) => sum + row.n, 0),
        first_at: trail.length > 0 ? new Date(Math.min(...trail.map((row) => row.first_at.getTime()))).toISOString() : null,
        last_at: trail.length > 0 ? new Date(Math.max(...trail.map((row) => row.last_at.getTime()))).toISOString() : null,
        by_action: Object.fromEntries(trail.map((row) => [row.action, row.n])),
        recent,
        chain,
      },
    };
    const controls = CONTROLS.filter((rule) => frameworks.includes(rule.framework)).map((rule) => ({
      framework: rule.framework,
      control: rule.control,
      title: rule.title,
      ...rule.judge(evidence),
    }));
    const tally = (wanted: Status) => controls.filter((control) => control.status === wanted).length;
    return {
      ...evidence,
      controls,
      summary: { satisfied: tally('satisfied'), attention: tally('attention'), not_applicable: tally('not_applicable') },
    };
  }
}

export type Evidence = Omit<ComplianceReport, 'controls' | 'summary'>;

function identity(report: Evidence): { status: Status; evidence: string[] } {
  const { agent, credentials } = report;
  return {
    status: 'satisfied',
    evidence: [
      agent.identity === 'registered_key'
        ? `Unique identity ${agent.id}: registered Ed25519 key ${agent.public_key_fingerprint}; sekuire_id is the SHA-256 of that key`
        : `Unique identity ${agent.id}: minted by Warden with a sas_ secret`,
      credentials.agent_secret_issued
        ? 'The agent secret is stored only as a SHA-256 digest'
        : 'No shared secret: the agent proves its identity with its private key',
      'Install, runtime and refresh tokens are stored only as SHA-256 digests and shown once',
    ],
  };
}

/** Stopping access: every revocation took effect (no installation of a stopped agent still holds a current lease). */
function removal(report: Evidence): { status: Status; evidence: string[] } {
  const stopped = report.agent.status !== 'active';
  const stillLeased = report.installations.filter((installation) => installation.status === 'active');
  if (report.revocations.length === 0 && !stopped) {
    return {
      status: 'not_applicable',
      evidence: ['Nothing was revoked; the kill switch and revocation are available to admins holding agent.disable / agent.revoke'],
    };
  }
  const evidence = report.revocations.map((revocation) => {
    const at = revocation.at ? ` at ${revocation.at}` : '';
    return `${revocation.kind} ${revocation.id}${at}${revocation.reason ? `: ${revocation.reason}` : ''}`;
  });
  if (stopped && stillLeased.length > 0) {
    return {
      status: 'attention',
      evidence: [
        ...evidence,
        `The agent is ${report.agent.status} but ${stillLeased.map((i) => i.id).join(', ')} still hold a current lease (they ` +
          `are told to shut down at their next lease)`,
      ],
    };
  }
  return {
    status: 'satisfied',
    evidence: [...evidence, 'Revoked credentials are refused on their next use; stopped installations are told to shut down'],
  };
}

function monitoring(report: Evidence): { status: Status; evidence: string[] } {
  const live = report.installations.filter((installation) => installation.status !== 'revoked');
  if (live.length === 0) return { status: 'not_applicable', evidence: ['No live installation in this workspace'] };
  const lapsed = live.filter(
    (installation) =>
      installation.status === 'stale' ||
      (installation.status === 'pending' && Date.parse(report.generated_at) - Date.parse(installation.created_at) > DAY_MS),
  );
  const evidence = live.map((installation) => {
    const lease = installation.last_lease_at ? `, last lease ${installation.last_lease_at}` : ', never leased';
    return `${installation.id}: ${installation.status}${lease}`;
  });
  return lapsed.length > 0
    ? { status: 'attention', evidence: [...evidence, `${lapsed.length} installation(s) stopped reporting or never started`] }
    : { status: 'satisfied', evidence };
}

function incidents(report: Evidence): { status: Status; evidence: string[] } {
  const reuse = report.credentials.refresh.reuse_detected;
  return reuse > 0
    ? {
        status: 'attention',
        evidence: [
          `A retired refresh token was presented ${reuse} time(s); each time Warden revoked that installation's tokens. ` +
            `Investigate where the token leaked.`,
        ],
      }
    : {
        status: 'satisfied',
        evidence: ["No refresh-token reuse detected; reuse would revoke the installation's tokens at once and be recorded"],
      };
}

function auditTrail(report: Evidence): { status: Status; evidence: string[] } {
  const { events, first_at: firstAt, last_at: lastAt } = report.audit;
  return events > 0
    ? {
        status: 'satisfied',
        evidence: [
          `${events} audit events about the agent and its installations, ${firstAt} to ${lastAt}`,
          ...Object.entries(report.audit.by_action)
            .map(([action, n]) => `${action}: ${n}`)
            .slice(0, 8),
        ],
      }
    : { status: 'attention', evidence: ['No audit events about this agent are retained'] };
}

function integrity(report: Evidence): { status: Status; evidence: string[] } {
  const { chain } = report.audit;
  return chain.valid
    ? {
        status: 'satisfied',
        evidence: [
          `Audit chain of ${chain.org_id} verified: ${chain.events_checked} events, head seq ` +
            `${chain.head_seq}${chain.checkpoint ? `, from signed retention checkpoint ${chain.checkpoint.seq}` : ''}`,
        ],
      }
    : { status: 'attention', evidence: [`Audit chain verification failed at seq ${chain.first_broken_seq}: ${chain.reason}`] };
}

function authentication(report: Evidence): { status: Status; evidence: string[] } {
  const { refresh, runtime_tokens: runtime } = report.credentials;
  return {
    status: 'satisfied',
    evidence: [
      report.agent.identity === 'registered_key'
        ? 'The agent signs with its Ed25519 key; trust verification checks the signature'
        : 'The agent authenticates with its sas_ secret',
      `Installations use runtime tokens of at most 90 days (${runtime.active} active, ${runtime.expiring_within_7_days} ` +
        `expiring within 7 days), rotated by refresh (${refresh.rotations} rotations` +
        `${refresh.last_rotated_at ? `, last ${refresh.last_rotated_at}` : ''}); a refresh retires every older token`,
    ],
  };
}

/** Every control Warden judges, per framework; exported for the table-driven tests of the judges. */
export const CONTROLS: readonly ControlRule[] = [
  { framework: 'soc2', control: 'CC6.1', title: 'Logical access security: identities and credentials', judge: identity },
  { framework: 'soc2', control: 'CC6.2', title: 'Registration and authorization of new identities', judge: registration },
  { framework: 'soc2', control: 'CC6.3', title: 'Removal of access', judge: removal },
  { framework: 'soc2', control: 'CC7.2', title: 'Monitoring of system components', judge: monitoring },
  { framework: 'soc2', control: 'CC7.3', title: 'Evaluation of security events', judge: incidents },
  {
    framework: 'soc2',
    control: 'CC8.1',
    title: 'Changes are authorized and recorded (tamper-evident audit trail)',
    judge: (report) => combine(auditTrail(report), integrity(report)),
  },
  { framework: 'hipaa', control: '164.312(a)(2)(i)', title: 'Unique user identification', judge: identity },
  { framework: 'hipaa', control: '164.312(a)(1)', title: 'Access control', judge: (report) => combine(identity(report), removal(report)) },
  { framework: 'hipaa', control: '164.312(b)', title: 'Audit controls', judge: auditTrail },
  { framework: 'hipaa', control: '164.312(c)(1)', title: 'Integrity', judge: integrity },
  { framework: 'hipaa', control: '164.312(d)', title: 'Person or entity authentication', judge: authentication },
  {
    framework: 'hipaa',
    control: '164.308(a)(1)(ii)(D)',
    title: 'Information system activity review',
    judge: (report) => combine(auditTrail(report), monitoring(report)),
  },
  { framework: 'hipaa', control: '164.308(a)(3)(ii)(C)', title: 'Termination procedures', judge: removal },
  { framework: 'hipaa', control: '164.308(a)(6)(ii)', title: 'Security incident response and reporting', judge: incidents },
];

function registration(report: Evidence): { status: Status; evidence: string[] } {
  const registered = (report.audit.by_action['agent.registered'] ?? 0) + (report.audit.by_action['agent.minted'] ?? 0);
  return registered > 0
    ? {
        status: 'satisfied',
        evidence: [`Created ${report.agent.created_at} by an authorized caller; the registration is in the audit log`],
      }
    : {
        status: 'attention',
        evidence: [`Created ${report.agent.created_at}; its registration event is no longer in the retained audit log`],
      };
}

/** Two judgements of one control: attention wins, then satisfied; evidence from both. */
function combine(...judgements: Array<{ status: Status; evidence: string[] }>): { status: Status; evidence: string[] } {
  const statuses = judgements.map((judgement) => judgement.status);
  const status: Status = statuses.includes('attention') ? 'attention' : statuses.includes('satisfied') ? 'satisfied' : 'not_applicable';
  return { status, evidence: judgements.flatMap((judgement) => judgement.evidence).slice(0, 10) };
}
