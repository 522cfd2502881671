import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type Ticket = components['schemas']['SupportTicket'];
export type SupportChannel = Ticket['channel'];
export type DeliveryStatus = Ticket['delivery_status'];

export interface SupportTicketRow {
  id: string;
  org_id: string;
  workspace_id: string | null;
  channel: SupportChannel;
  status: Ticket['status'];
  subject: string;
  message: string;
  category: string;
  contact_email: string;
  created_by: string | null;
  sla_due_at: Date;
  delivery_status: DeliveryStatus;
  delivery_attempts: number;
  delivery_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

export type NewSupportTicket = Pick<
  SupportTicketRow,
  'id' | 'org_id' | 'workspace_id' | 'channel' | 'subject' | 'message' | 'category' | 'contact_email' | 'created_by'
> & { sla_hours: number };

export interface DeliveryOutcome {
  status: Exclude<DeliveryStatus, 'pending'>;
  attempts: number;
  error: string | null;
}

const COLUMNS = `id, org_id, workspace_id, channel, status, subject, message, category, contact_email, created_by, sla_due_at,
  delivery_status, delivery_attempts, delivery_error, delivered_at, created_at`;

/** Every SQL statement on `support_tickets`. */
export class SupportTicketStore {
  constructor(private readonly db: Db) {}

  /** The due time comes from the database clock, as `created_at` does, so the two never disagree. */
  async insert(ticket: NewSupportTicket): Promise<SupportTicketRow> {
    const { rows } = await this.db.query<SupportTicketRow>(
      `INSERT INTO support_tickets (id, org_id, workspace_id, channel, subject, message, category, contact_email, created_by, sla_due_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(hours => $10)) RETURNING ${COLUMNS}`,
      [
        ticket.id,
        ticket.org_id,
        ticket.workspace_id,
        ticket.channel,
        ticket.subject,
        ticket.message,
        ticket.category,
        ticket.contact_email,
        ticket.created_by,
        ticket.sla_hours,
      ],
    );
    return rows[0]!;
  }

  /**
   * Takes the ticket for one more delivery: only a failed or undelivered one, or one a cut-short
   * delivery left pending for over 10 minutes. The row update is the lock: of two retries at
   * once exactly one gets the row. Undefined when the ticket is the org's but not retryable.
   */
  async claimRetry(orgId: string, id: string): Promise<SupportTicketRow | undefined> {
    const { rows } = await this.db.query<SupportTicketRow>(
      `UPDATE support_tickets SET delivery_status = 'pending', delivery_started_at = now()
       WHERE org_id = $1 AND id = $2 AND (delivery_status IN ('failed', 'not_configured')
         OR (delivery_status = 'pending' AND delivery_started_at < now() - interval '10 minutes'))
       RETURNING ${COLUMNS}`,
      [orgId, id],
    );
    return rows[0];
  }

  async exists(orgId: string, id: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM support_tickets WHERE org_id = $1 AND id = $2`, [orgId, id]);
    return rows.length > 0;
  }

  /** Adds this delivery's attempts to the ticket's count and sets its outcome. */
  async recordDelivery(id: string, outcome: DeliveryOutcome): Promise<SupportTicketRow> {
    const { rows } = await this.db.query<SupportTicketRow>(
      `UPDATE support_tickets SET delivery_status = $2, delivery_attempts = delivery_attempts + $3, delivery_error = $4,
         delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, outcome.status, outcome.attempts, outcome.error],
    );
    return rows[0]!;
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<SupportTicketRow[]> {
    const { rows } = await this.db.query<SupportTicketRow>(
      `SELECT ${COLUMNS} FROM support_tickets WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }
}
