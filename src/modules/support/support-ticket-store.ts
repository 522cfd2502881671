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
