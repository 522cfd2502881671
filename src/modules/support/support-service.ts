import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { SupportConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { Mailer } from '../../mail/mailer';
import type { OutboundHttp } from '../../outbound/outbound-http';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import type { WorkspaceService } from '../workspaces';
import { type DeliveryOutcome, type SupportChannel, type SupportTicketRow, SupportTicketStore } from './support-ticket-store';

type Ticket = components['schemas']['SupportTicket'];
export type SupportRequest = operations['createSupportRequestEmail']['requestBody']['content']['application/json'];

/** Hours until a first answer is due, by channel: the SLA table the spec's SupportTicket documents. */
export const SLA_HOURS: Readonly<Record<SupportChannel, number>> = { csm: 1, priority: 4, slack: 8, email: 48 };

/** The operation each channel answers, for its audit event. */
const operationIds: Record<SupportChannel, string> = {
  email: 'createSupportRequestEmail',
  priority: 'createSupportRequestPriority',
  slack: 'createSupportRequestSlack',
  csm: 'createSupportRequestCsm',
};

const toTicket = (row: SupportTicketRow): Ticket => ({
  id: row.id,
  org_id: row.org_id,
  workspace_id: row.workspace_id,
  channel: row.channel,
  status: row.status,
  subject: row.subject,
  message: row.message,
  category: row.category,
  contact_email: row.contact_email,
  sla_due_at: row.sla_due_at.toISOString(),
  delivery_status: row.delivery_status,
  delivery_attempts: row.delivery_attempts,
  delivery_error: row.delivery_error,
  delivered_at: row.delivered_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
});

/** The caller's words on one line, whatever reached the service: no CR/LF can start a mail header. */
const oneLine = (text: string) => text.replace(/\p{Cc}+/gu, ' ');
/** Slack reads `<…>` as links and pings (`<!channel>`): the caller's text is shown as text. */
const slackEscaped = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Support tickets: each is committed with its audit event first, then delivered to the support
 * team (SUPPORT_EMAIL by mail, or the Slack webhook) outside any transaction, and the outcome is
 * recorded on the ticket. A ticket is never lost to a failing delivery; it says it failed, and why.
 */
export class SupportService {
  private readonly store: SupportTicketStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly workspaces: Pick<WorkspaceService, 'assertInOrg'>,
    private readonly audit: Pick<AuditService, 'append' | 'record'>,
    private readonly mailer: Pick<Mailer, 'deliver'>,
    private readonly outbound: Pick<OutboundHttp, 'destination' | 'post'>,
    private readonly config: SupportConfig,
  ) {
    this.store = new SupportTicketStore(db);
  }

  async open(principal: Principal, channel: SupportChannel, input: SupportRequest): Promise<Ticket> {
    const orgId = await this.orgs.scope(principal, input.organization_id);
    if (input.workspace_id !== undefined) await this.workspaces.assertInOrg(orgId, input.workspace_id);
    const actor = actorOf(principal);
    const created = await this.db.transaction(async () => {
      const row = await this.store.insert({
        id: newId('tkt'),
        org_id: orgId,
        workspace_id: input.workspace_id ?? null,
        channel,
        subject: input.subject,
        message: input.message,
        category: input.category ?? 'general',
        contact_email: input.contact_email,
        created_by: actor.id,
        sla_hours: SLA_HOURS[channel],
      });
      await this.audit.append({
        orgId,
        actor,
        workspaceId: row.workspace_id,
        action: 'support.ticket_created',
        resourceType: 'support_ticket',
        resourceId: row.id,
        outcome: 'success',
        ...currentRequestFacts(),
        // The message stays in the ticket: the audit log says what was asked of whom, not the whole story.
        details: { operation_id: operationIds[channel], channel, category: row.category, sla_due_at: row.sla_due_at.toISOString() },
      });
      return row;
    });
    return toTicket(await this.store.recordDelivery(created.id, await this.deliver(created)));
  }

  /** One more delivery of a failed, undelivered or stalled ticket; the audit event carries its outcome. */
  async retryDelivery(principal: Principal, id: string): Promise<Ticket> {
    const orgId = await this.orgs.scope(principal);
    const claimed = await this.store.claimRetry(orgId, id);
    if (!claimed) {
      if (await this.store.exists(orgId, id)) {
        throw new ConflictError('The ticket was delivered, or its delivery is under way.', 'SUPPORT_DELIVERY_NOT_RETRYABLE');
      }
      throw new NotFoundError(`No support ticket '${id}' exists in this org.`, 'SUPPORT_TICKET_NOT_FOUND');
    }
    const outcome = await this.deliver(claimed);
    const ticket = await this.store.recordDelivery(id, outcome);
    await this.audit.record({
      orgId,
      actor: actorOf(principal),
      workspaceId: ticket.workspace_id,
      action: 'support.delivery_retried',
      resourceType: 'support_ticket',
      resourceId: id,
      outcome: outcome.status === 'delivered' ? 'success' : 'failure',
      ...currentRequestFacts(),
      details: { operation_id: 'retrySupportTicketDelivery', channel: ticket.channel, ...outcome },
    });
    return toTicket(ticket);
  }

  async list(principal: Principal, query: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { tickets: page.items.map(toTicket), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  private deliver(ticket: SupportTicketRow): Promise<DeliveryOutcome> {
    return this.db.detached(() => (ticket.channel === 'slack' ? this.toSlack(ticket) : this.byMail(ticket)));
  }

  private async byMail(ticket: SupportTicketRow): Promise<DeliveryOutcome> {
    if (!this.config.email) return { status: 'not_configured', attempts: 0, error: 'SUPPORT_EMAIL is not set' };
    const tag = ticket.channel === 'email' ? 'support' : ticket.channel;
    const status = await this.mailer.deliver({
      to: this.config.email,
      subject: `[${tag}] ${oneLine(ticket.subject)} (${ticket.id})`,
      text: `${describe(ticket)}\n\n${ticket.message}\n`,
    });
    if (status === 'sent') return { status: 'delivered', attempts: 1, error: null };
    if (status === 'logged') return { status: 'not_configured', attempts: 0, error: 'SMTP_URL is not set; the mail went to the log' };
    return { status: 'failed', attempts: 1, error: 'the SMTP server did not accept the mail' };
  }

  private async toSlack(ticket: SupportTicketRow): Promise<DeliveryOutcome> {
    const url = this.config.slackWebhookUrl;
    if (!url) return { status: 'not_configured', attempts: 0, error: 'SUPPORT_SLACK_WEBHOOK_URL is not set' };
    const text = slackEscaped(`*${oneLine(ticket.subject)}*\n${describe(ticket)}\n\n${ticket.message}`);
    try {
      const delivery = await this.outbound.post(
        await this.outbound.destination(url),
        { 'Content-Type': 'application/json' },
        JSON.stringify({ text }),
      );
      if (delivery.ok) return { status: 'delivered', attempts: delivery.attempts, error: null };
      return { status: 'failed', attempts: delivery.attempts, error: `Slack webhook: ${delivery.reason}` };
    } catch (error) {
      // The webhook URL is a credential: the reason names what was wrong with it, never the URL.
      return { status: 'failed', attempts: 0, error: `Slack webhook ${(error as Error).message}` };
    }
  }
}

function describe(ticket: SupportTicketRow): string {
  return [
    `Ticket ${ticket.id} (${ticket.channel}, ${ticket.category})`,
    `Org ${ticket.org_id}${ticket.workspace_id ? `, workspace ${ticket.workspace_id}` : ''}`,
    `Contact ${ticket.contact_email}`,
    `First answer due ${ticket.sla_due_at.toISOString()}`,
  ].join('\n');
}
