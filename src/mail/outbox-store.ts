import type { Db } from '../db/db';

export type OutboxStatus = 'sent' | 'logged' | 'failed' | 'in_response';

/** A row of `email_outbox`: what was sent to whom and how it went, never the body (bodies carry PINs and links). */
export interface OutboxRow {
  id: string;
  recipient: string;
  subject: string;
  status: OutboxStatus;
  created_at: Date;
}

export class OutboxStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<OutboxRow, 'created_at'>): Promise<void> {
    await this.db.query(`INSERT INTO email_outbox (id, recipient, subject, status) VALUES ($1, $2, $3, $4)`, [
      row.id,
      row.recipient,
      row.subject,
      row.status,
    ]);
  }
}
