import { sqlMigration } from './sql-migration';

/**
 * Support tickets: what an org asked its support team through which channel, when a first answer
 * is due, and whether the ticket reached the team (delivery is recorded after the row commits,
 * so a ticket is never lost to a failing mailbox or webhook).
 */
export const SupportTickets1733320000000 = sqlMigration(
  'SupportTickets1733320000000',
  [
    `CREATE TABLE support_tickets (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      workspace_id text,
      channel text NOT NULL CHECK (channel IN ('email', 'priority', 'slack', 'csm')),
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open')),
      subject text NOT NULL,
      message text NOT NULL,
      category text NOT NULL,
      contact_email text NOT NULL,
      created_by text,
      sla_due_at timestamptz NOT NULL,
      delivery_status text NOT NULL DEFAULT 'pending'
        CHECK (delivery_status IN ('pending', 'delivered', 'failed', 'not_configured')),
      delivery_attempts integer NOT NULL DEFAULT 0,
      delivery_error text,
      delivered_at timestamptz,
      -- When the current delivery began: a retry may take over one that a crash left pending.
      delivery_started_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX support_tickets_org_idx ON support_tickets (org_id, id DESC)`,
  ],
  [`DROP TABLE support_tickets`],
);
