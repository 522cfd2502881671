import { sqlMigration } from './sql-migration';

/**
 * Billing telemetry and daily budgets. Money is integer micro-dollars. Events keep no foreign key
 * to agents: they are the record of what was spent and outlive the agent (a deleted workspace
 * deletes its agents). A day's spend is a counter per agent, and goes with the agent.
 */
export const Billing1733030000000 = sqlMigration(
  'Billing1733030000000',
  [
    `CREATE TABLE billing_events (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      agent_id text NOT NULL,
      key_id text,
      request_id text NOT NULL,
      action text NOT NULL,
      allow boolean NOT NULL,
      status_code integer NOT NULL CHECK (status_code BETWEEN 100 AND 599),
      authorized_cost_micros bigint NOT NULL CHECK (authorized_cost_micros >= 0),
      cost_micros bigint NOT NULL CHECK (cost_micros >= 0),
      fee_micros bigint NOT NULL CHECK (fee_micros >= 0),
      policy_id text,
      policy_version integer CHECK (policy_version >= 1),
      deny_reason text,
      metering_source text NOT NULL CHECK (metering_source IN ('declared', 'vendor')),
      occurred_at timestamptz NOT NULL
    )`,
    // Newest-first pages and time-range sums, per org and per agent; id breaks ties within a millisecond.
    `CREATE INDEX billing_events_org_time_idx ON billing_events (org_id, occurred_at, id)`,
    `CREATE INDEX billing_events_agent_time_idx ON billing_events (agent_id, occurred_at, id)`,
    `CREATE TABLE agent_daily_spend (
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      day date NOT NULL,
      spent_micros bigint NOT NULL CHECK (spent_micros >= 0),
      PRIMARY KEY (agent_id, day)
    )`,
    `CREATE INDEX agent_daily_spend_org_day_idx ON agent_daily_spend (org_id, day)`,
  ],
  [`DROP TABLE agent_daily_spend`, `DROP TABLE billing_events`],
);
