import type { Logger } from 'pino';
import type { components, operations } from '../../../generated/api';
import { actorOf } from '../../audit/audit-event';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import type { InstanceSecrets } from '../../db/instance-secrets';
import type { NotificationChannel, Notifications } from '../../db/notifications';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import { microsToUsd } from '../../lib/money';
import { Alarm, WaitSlots, Wakers } from '../../lib/waits';
import { DestinationRefusedError, DestinationUnresolvableError, type OutboundHttp } from '../../outbound/outbound-http';
import type { OrgService } from '../orgs';
import { type ApprovalNotifier, webhookSecret } from './approval-notifier';
import { type ApprovalRow, type ApprovalSettingsRow, type ApprovalStatus, ApprovalStore, DECISION_CHANNEL } from './approval-store';

export type Approval = components['schemas']['Approval'];
type ApprovalSettings = components['schemas']['ApprovalSettings'];
type SettingsInput = operations['updateApprovalSettings']['requestBody']['content']['application/json'];

/** What the gateway asks a person to decide. Costs are integer micro-dollars. */
export interface ApprovalRequest {
  orgId: string;
  agentId: string;
  keyId: string | null;
  action: string;
  method: string;
  path: string;
  costMicros: number;
  policyId: string | null;
  policyVersion: number | null;
  requestId: string | null;
}

export interface Redemption {
  approvalId: string;
  orgId: string;
  agentId: string;
  /** The gateway key (so the vendor) the approval was asked through; null when asked without one. */
  keyId: string | null;
  method: string;
  path: string;
  costMicros: number;
}

export type RedeemResult =
  | { ok: true; approval: Approval }
  | { ok: false; reason: 'not_found' | 'pending' | 'denied' | 'expired' | 'used' | 'mismatch' };

export interface ApprovalOptions {
  ttlMinutes: number;
  maxWaits: number;
  maxWaitsPerOrg: number;
  /** How often a long-poll re-reads its approval: often where nothing announces decisions (PGlite), rarely as a safety net otherwise. */
  pollIntervalMs: number;
}

const toApproval = (row: ApprovalRow): Approval => ({
  id: row.id,
  org_id: row.org_id,
  key: row.key_id,
  agent_id: row.agent_id,
  action: row.action,
  method: row.method,
  path: row.path,
  cost_usd: microsToUsd(row.cost_micros),
  policy_id: row.policy_id,
  policy_version: row.policy_version,
  status: row.status,
  reason: row.reason,
  decided_by: row.decided_by,
  created_at: row.created_at.toISOString(),
  decided_at: row.decided_at?.toISOString() ?? null,
  expires_at: row.expires_at.toISOString(),
  used_at: row.used_at?.toISOString() ?? null,
});

/** A Slack incoming-webhook URL is a credential: only its origin is ever shown. */
const maskedSlackUrl = (url: string | null) => (url === null ? null : `${new URL(url).origin}/…`);
/** A webhook's query string may carry its receiver's token: shown as `?…`, the rest as set. */
const maskedWebhookUrl = (url: string | null) => {
  if (url === null) return null;
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
};

const toSettings = (orgId: string, row: ApprovalSettingsRow | undefined, secret: string | null): ApprovalSettings => ({
  org_id: orgId,
  slack_webhook_url: maskedSlackUrl(row?.slack_webhook_url ?? null),
  webhook_url: maskedWebhookUrl(row?.webhook_url ?? null),
  webhook_secret_version: row?.webhook_secret_version ?? 0,
  secret,
  updated_at: row?.updated_at.toISOString() ?? null,
});

const approvalNotFound = (id: string) => new NotFoundError(`No approval '${id}' exists in this org.`, 'APPROVAL_NOT_FOUND');

/**
 * Human approvals: opened by the gateway when policy escalates a call, decided by a person,
 * waited for by the agent (long-poll), and used once by the agent's repeated call.
 */
export class ApprovalService {
  private readonly store: ApprovalStore;
  private readonly slots: WaitSlots;
  /** The waits on each approval, by its id. */
  private readonly wakers = new Wakers<void>();
  private readonly decisions: NotificationChannel;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly notifier: Pick<ApprovalNotifier, 'notify'>,
    private readonly outbound: Pick<OutboundHttp, 'destination'>,
    private readonly secrets: InstanceSecrets,
    /** Where decisions are announced, whichever instance made them (not at all on PGlite, where waits poll). */
    notifications: Notifications,
    private readonly logger: Logger,
    private readonly options: ApprovalOptions,
  ) {
    this.store = new ApprovalStore(db, notifications.enabled);
    this.slots = new WaitSlots(options, {
      message: 'Too many approvals are being waited for; retry in 1 second.',
      code: 'APPROVAL_WAITS_EXHAUSTED',
    });
    // A lost connection (null) may have hidden any decision: every wait re-reads.
    this.decisions = notifications.channel(DECISION_CHANNEL, (id) => (id === null ? this.wakers.wakeAll() : this.wakers.wake(id)));
  }

  /**
   * A pending approval, expiring `ttlMinutes` from now. Inside the caller's transaction when
   * there is one; the approvers hear of it only once that has committed.
   */
  async open(request: ApprovalRequest): Promise<Approval> {
    const row = await this.store.insert(
      {
        id: newId('apr'),
        org_id: request.orgId,
        agent_id: request.agentId,
        key_id: request.keyId,
        action: request.action,
        method: request.method.toUpperCase(),
        path: request.path,
        cost_micros: request.costMicros,
        policy_id: request.policyId,
        policy_version: request.policyVersion,
        request_id: request.requestId,
      },
      this.options.ttlMinutes,
    );
    const approval = toApproval(row);
    this.db.afterCommit(() => {
      this.db
        .detached(async () => this.notifier.notify(approval, await this.store.findSettings(approval.org_id)))
        .catch((error: Error) => this.logger.error({ approval_id: approval.id, err_message: error.message }, 'approval notice failed'));
    });
    return approval;
  }

  /**
   * Uses an approved approval for one call: the same agent, method and path, costing at most what
   * was approved. Of concurrent redemptions exactly one succeeds; the rest see `used`.
   */
  async redeem(input: Redemption): Promise<RedeemResult> {
    const call = {
      agentId: input.agentId,
      keyId: input.keyId,
      method: input.method.toUpperCase(),
      path: input.path,
      costMicros: input.costMicros,
    };
    const used = await this.store.redeem(input.orgId, input.approvalId, call);
    if (used) return { ok: true, approval: toApproval(used) };
    const row = await this.store.find(input.orgId, input.approvalId);
    if (!row) return { ok: false, reason: 'not_found' };
    if (
      row.agent_id !== call.agentId ||
      row.key_id !== call.keyId ||
      row.method !== call.method ||
      row.path !== call.path ||
      Number(row.cost_micros) < call.costMicros
    ) {
      return { ok: false, reason: 'mismatch' };
    }
    // `approved` here means it lapsed between the two statements.
    return { ok: false, reason: row.status === 'approved' ? 'expired' : row.status };
  }

  async pendingCount(orgId: string): Promise<number> {
    return this.store.countPending(orgId);
  }

  /** The org's pending approvals, newest first (for the state snapshot). */
  async listPending(orgId: string, limit: number): Promise<Approval[]> {
    const rows = await this.store.list(orgId, { status: 'pending', beforeId: null, limit });
    return rows.map(toApproval);
  }

  async list(principal: Principal, query: { org_id?: string; status?: ApprovalStatus; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal, query.org_id);
    const rows = await this.store.list(orgId, {
      status: query.status ?? null,
      beforeId: decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = pageOf(rows, query.limit);
    await this.persistExpiry(page.items);
    return { approvals: page.items.map(toApproval), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /**
   * One approval; with `waitSeconds`, held until it leaves `pending`, the wait ends or `signal`
   * aborts (the client went away). An agent reads only its own approvals; anyone else needs
   * `approval.read`, which the operation cannot demand of every caller since agents hold none.
   */
  async get(principal: Principal, id: string, wait: { seconds: number; signal?: AbortSignal }): Promise<Approval> {
    const { orgId, visible } = await this.reader(principal);
    const read = async () => {
      const row = await this.store.find(orgId, id);
      if (!row || !visible(row)) throw approvalNotFound(id);
      return row;
    };
    let row = await read();
    if (row.status === 'pending' && wait.seconds > 0 && !wait.signal?.aborted) {
      row = await this.waitWhilePending(orgId, principal.agentId, id, read, wait);
    }
    await this.persistExpiry([row]);
    return toApproval(row);
  }

  private async reader(principal: Principal): Promise<{ orgId: string; visible: (row: ApprovalRow) => boolean }> {
    if (principal.agentId !== null && principal.orgId !== null) {
      const agentId = principal.agentId;
      return { orgId: principal.orgId, visible: (row) => row.agent_id === agentId };
    }
    if (!principal.permissions.has('approval.read')) {
      throw new ForbiddenError(`This operation needs the 'approval.read' permission.`, 'PERMISSION_DENIED');
    }
    return { orgId: await this.orgs.scope(principal), visible: () => true };
  }

  private async waitWhilePending(
    orgId: string,
    agentId: string | null,
    id: string,
    read: () => Promise<ApprovalRow>,
    wait: { seconds: number; signal?: AbortSignal },
  ): Promise<ApprovalRow> {
    const leave = this.slots.enter(orgId, agentId);
    const alarm = new Alarm();
    const unsubscribe = this.wakers.subscribe(id, alarm.ring);
    let stopListening = () => {};
    try {
      stopListening = await this.decisions.hold().catch((error: Error) => {
        this.logger.warn({ err_message: error.message }, 'approval wait falls back to polling: LISTEN failed');
        return () => {};
      });
      const deadline = Date.now() + wait.seconds * 1000;
      // Read again now that a decision would wake us: one made before watching is seen here.
      let row = await read();
      while (row.status === 'pending' && !wait.signal?.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await alarm.sleep(Math.min(left, this.options.pollIntervalMs), wait.signal);
        row = await read();
      }
      return row;
    } finally {
      stopListening();
      unsubscribe();
      leave();
    }
  }

  async approve(principal: Principal, id: string, reason: string | undefined): Promise<Approval> {
    return this.decide(principal, id, 'approved', reason ?? null);
  }

  async deny(principal: Principal, id: string, reason: string | undefined): Promise<Approval> {
    return this.decide(principal, id, 'denied', reason ?? null);
  }

  private async decide(principal: Principal, id: string, status: 'approved' | 'denied', reason: string | null): Promise<Approval> {
    // The spec lets no agent credential reach here; this holds even if one ever does.
    if (principal.agentId !== null) {
      throw new ForbiddenError('An agent cannot decide approvals, its own or any other.', 'CREDENTIAL_NOT_ACCEPTED');
    }
    const orgId = await this.orgs.scope(principal);
    const decided = await this.store.decide(orgId, id, {
      status,
      decidedBy: actorOf(principal).id,
      reason,
      ttlMinutes: this.options.ttlMinutes,
    });
    if (decided) {
      this.db.afterCommit(() => this.wakers.wake(id));
      return toApproval(decided);
    }
    const row = await this.store.find(orgId, id);
    if (!row) throw approvalNotFound(id);
    if (row.status === 'expired') throw new ConflictError('The approval expired before it was decided.', 'APPROVAL_EXPIRED');
    throw new ConflictError(`The approval is already ${row.status}; a decision is final.`, 'APPROVAL_ALREADY_DECIDED');
  }

  async getSettings(principal: Principal): Promise<ApprovalSettings> {
    const orgId = await this.orgs.scope(principal);
    return toSettings(orgId, await this.store.findSettings(orgId), null);
  }

  /** Sets the URLs given; a new `webhook_url` gets a new signing secret, shown in this answer only. */
  async updateSettings(principal: Principal, input: SettingsInput): Promise<ApprovalSettings> {
    const orgId = await this.orgs.scope(principal);
    if (input.slack_webhook_url) await this.assertCallable(input.slack_webhook_url, 'slack_webhook_url');
    if (input.webhook_url) await this.assertCallable(input.webhook_url, 'webhook_url');
    const before = await this.store.lockSettings(orgId);
    noteBefore(before ? toSettings(orgId, before, null) : null);
    const row = await this.store.saveSettings(orgId, { slackWebhookUrl: input.slack_webhook_url, webhookUrl: input.webhook_url });
    const secret = input.webhook_url ? await webhookSecret(this.secrets, orgId, row.webhook_secret_version) : null;
    return toSettings(orgId, row, secret);
  }

  private async assertCallable(url: string, field: string): Promise<void> {
    try {
      await this.outbound.destination(url);
    } catch (error) {
      if (!(error instanceof DestinationRefusedError || error instanceof DestinationUnresolvableError)) throw error;
      throw new ValidationError(`${field} ${error.message}.`, 'DESTINATION_NOT_ALLOWED', [
        { location: 'body', field, message: error.message, rule: 'destination' },
      ]);
    }
  }

  /** Writes down the expiry reads already show, so the table agrees with the API. */
  private async persistExpiry(rows: ApprovalRow[]): Promise<void> {
    const stale = rows.filter((row) => row.stale).map((row) => row.id);
    if (stale.length > 0) await this.store.persistExpiry(stale);
  }
}
