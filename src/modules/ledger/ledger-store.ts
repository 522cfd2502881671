import type { Db } from '../../db/db';

export type OwnerType = 'org' | 'agent' | 'external';

export interface AccountRow {
  id: string;
  owner_type: OwnerType;
  org_id: string | null;
  agent_id: string | null;
  currency: string;
  network: string | null;
  balance: string;
  created_at: Date;
}

export interface TransferRow {
  id: string;
  kind: 'transfer' | 'hire_charge' | 'deposit';
  org_id: string;
  from_agent_id: string | null;
  from_account_id: string;
  to_account_id: string | null;
  to_agent_id: string | null;
  to_address: string | null;
  rail: string;
  currency: string;
  amount: string;
  amount_usd_micros: string | null;
  network: string | null;
  asset: string | null;
  mandate_id: string | null;
  has_shared_payment_token: boolean;
  status: 'settled' | 'pending';
  pending_reason: 'rail_not_supported' | 'approval_required' | null;
  approval_id: string | null;
  idempotency_scope: string | null;
  idempotency_key: string | null;
  request_digest: Buffer | null;
  metadata: Record<string, string>;
  created_at: Date;
  settled_at: Date | null;
}

export type NewTransfer = Omit<TransferRow, 'created_at' | 'settled_at'>;

/** Who holds an account: an org, one of its agents, or (for deposits) the world outside the ledger. */
export interface AccountOwner {
  type: OwnerType;
  orgId: string | null;
  agentId: string | null;
}

export interface StatsRow {
  transfers: string;
  settled: string;
  pending: string;
  usd_micros: string;
}

const ACCOUNT_COLUMNS = 'id, owner_type, org_id, agent_id, currency, network, balance, created_at';
const TRANSFER_COLUMNS = `id, kind, org_id, from_agent_id, from_account_id, to_account_id, to_agent_id, to_address, rail, currency, amount,
  amount_usd_micros, network, asset, mandate_id, has_shared_payment_token, status, pending_reason, approval_id, idempotency_scope,
  idempotency_key, request_digest, metadata, created_at, settled_at`;

/** How long an idempotency key names its transfer. */
const IDEMPOTENCY_WINDOW = `interval '24 hours'`;

/** Every SQL statement on `ledger_accounts`, `ledger_transfers` and `ledger_entries`. */
export class LedgerStore {
  constructor(private readonly db: Db) {}

  async findAccount(owner: AccountOwner, currency: string): Promise<AccountRow | undefined> {
    const { rows } = await this.db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts
       WHERE owner_type = $1 AND org_id IS NOT DISTINCT FROM $2 AND agent_id IS NOT DISTINCT FROM $3 AND currency = $4`,
      [owner.type, owner.orgId, owner.agentId, currency],
    );
    return rows[0];
  }

  /** Opens the account unless it exists (a concurrent opening included); either way answers it. */
  async ensureAccount(id: string, owner: AccountOwner, currency: string, network: string | null): Promise<AccountRow> {
    await this.db.query(
      `INSERT INTO ledger_accounts (id, owner_type, org_id, agent_id, currency, network) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      [id, owner.type, owner.orgId, owner.agentId, currency, network],
    );
    return (await this.findAccount(owner, currency))!;
  }

  /** Locks the accounts in id order, the one order every transfer uses, so two transfers never wait on each other in a cycle. */
  async lockAccounts(ids: string[]): Promise<Map<string, bigint>> {
    const { rows } = await this.db.query<{ id: string; balance: string }>(
      `SELECT id, balance FROM ledger_accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      [[...ids].sort()],
    );
    return new Map(rows.map((row) => [row.id, BigInt(row.balance)]));
  }

  /** The two entries of a transfer, summing to zero, and the balances they change. */
  async post(transferId: string, fromAccountId: string, toAccountId: string, amount: bigint): Promise<void> {
    await this.db.query(`INSERT INTO ledger_entries (transfer_id, account_id, amount) VALUES ($1, $2, -$4::bigint), ($1, $3, $4::bigint)`, [
      transferId,
      fromAccountId,
      toAccountId,
      amount.toString(),
    ]);
    await this.db.query(
      `UPDATE ledger_accounts AS a SET balance = a.balance + d.delta
       FROM (VALUES ($1::text, -$3::bigint), ($2::text, $3::bigint)) AS d(id, delta) WHERE a.id = d.id`,
      [fromAccountId, toAccountId, amount.toString()],
    );
  }

  /** Inserts the transfer unless its idempotency key is taken (then undefined: the earlier one stands). */
  async insertTransfer(row: NewTransfer): Promise<TransferRow | undefined> {
    const { rows } = await this.db.query<TransferRow>(
      `INSERT INTO ledger_transfers (id, kind, org_id, from_agent_id, from_account_id, to_account_id, to_agent_id, to_address, rail,
         currency, amount, amount_usd_micros, network, asset, mandate_id, has_shared_payment_token, status, pending_reason, approval_id,
         idempotency_scope, idempotency_key, request_digest, metadata, settled_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
         CASE WHEN $17 = 'settled' THEN now() END)
       ON CONFLICT DO NOTHING
       RETURNING ${TRANSFER_COLUMNS}`,
      [
        row.id,
        row.kind,
        row.org_id,
        row.from_agent_id,
        row.from_account_id,
        row.to_account_id,
        row.to_agent_id,
        row.to_address,
        row.rail,
        row.currency,
        row.amount,
        row.amount_usd_micros,
        row.network,
        row.asset,
        row.mandate_id,
        row.has_shared_payment_token,
        row.status,
        row.pending_reason,
        row.approval_id,
        row.idempotency_scope,
        row.idempotency_key,
        row.request_digest,
        JSON.stringify(row.metadata),
      ],
    );
    return rows[0];
  }

  /** A pending transfer settles (on the ledger) or learns why it still waits; only one caller wins a pending row. */
  async resolvePending(
    id: string,
    outcome: { toAccountId: string | null; status: TransferRow['status']; reason: TransferRow['pending_reason'] },
  ): Promise<TransferRow | undefined> {
    const { rows } = await this.db.query<TransferRow>(
      `UPDATE ledger_transfers SET status = $2, pending_reason = $3, to_account_id = COALESCE($4, to_account_id),
         settled_at = CASE WHEN $2 = 'settled' THEN now() END
       WHERE id = $1 AND status = 'pending' AND pending_reason = 'approval_required'
       RETURNING ${TRANSFER_COLUMNS}`,
      [id, outcome.status, outcome.reason, outcome.toAccountId],
    );
    return rows[0];
  }

  /**
   * The transfer an idempotency key names, if it was made in the last 24 hours. An older key is
   * released first, so the key can name a new transfer.
   */
  async findByIdempotencyKey(scope: string, key: string): Promise<TransferRow | undefined> {
    await this.db.query(
      `UPDATE ledger_transfers SET idempotency_key = NULL
       WHERE idempotency_scope = $1 AND idempotency_key = $2 AND created_at < now() - ${IDEMPOTENCY_WINDOW}`,
      [scope, key],
    );
    const { rows } = await this.db.query<TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE idempotency_scope = $1 AND idempotency_key = $2`,
      [scope, key],
    );
    return rows[0];
  }

  async findTransfer(id: string): Promise<TransferRow | undefined> {
    const { rows } = await this.db.query<TransferRow>(`SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = $1`, [id]);
    return rows[0];
  }

  async findByApproval(agentId: string, approvalId: string): Promise<TransferRow | undefined> {
    const { rows } = await this.db.query<TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE approval_id = $1 AND from_agent_id = $2`,
      [approvalId, agentId],
    );
    return rows[0];
  }

  async listAccounts(orgId: string, agentId: string | null, after: string | null, limit: number): Promise<AccountRow[]> {
    const { rows } = await this.db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts
       WHERE org_id = $1 AND ($2::text IS NULL OR agent_id = $2) AND ($3::text IS NULL OR id > $3)
       ORDER BY id LIMIT $4`,
      [orgId, agentId, after, limit + 1],
    );
    return rows;
  }

  /** Counts of the transfers created in [from, to) that the org paid (every org's when null). */
  async stats(orgId: string | null, from: Date, to: Date): Promise<StatsRow> {
    const { rows } = await this.db.query<StatsRow>(
      `SELECT count(*) AS transfers, count(*) FILTER (WHERE status = 'settled') AS settled,
         count(*) FILTER (WHERE status = 'pending') AS pending,
         COALESCE(sum(amount_usd_micros) FILTER (WHERE status = 'settled'), 0) AS usd_micros
       FROM ledger_transfers WHERE ($1::text IS NULL OR org_id = $1) AND created_at >= $2 AND created_at < $3 AND kind <> 'deposit'`,
      [orgId, from, to],
    );
    return rows[0]!;
  }

  /** The settled volume per currency of the same transfers. */
  async volume(orgId: string | null, from: Date, to: Date): Promise<Array<{ currency: string; amount: string; count: string }>> {
    const { rows } = await this.db.query<{ currency: string; amount: string; count: string }>(
      `SELECT currency, sum(amount) AS amount, count(*) AS count
       FROM ledger_transfers
       WHERE ($1::text IS NULL OR org_id = $1) AND created_at >= $2 AND created_at < $3 AND kind <> 'deposit' AND status = 'settled'
       GROUP BY currency ORDER BY currency`,
      [orgId, from, to],
    );
    return rows;
  }
}
