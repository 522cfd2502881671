import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type WorkflowMatch = components['schemas']['WorkflowMatch'];

/** What a version fixes: everything a workflow says but its identity. */
export interface WorkflowRules {
  name: string;
  description: string;
  match: WorkflowMatch;
  required_approvals: number;
  approver_roles: string[];
  auto_approve: boolean;
  priority: number;
}

/** A workflow at one version (its current one, or the one asked for). */
export interface WorkflowRow extends WorkflowRules {
  id: string;
  org_id: string;
  version: number;
  created_at: Date;
  /** When this version was made. */
  updated_at: Date;
}

const COLUMNS = `w.id, w.org_id, v.version, v.name, v.description, v.match, v.required_approvals, v.approver_roles, v.auto_approve,
  v.priority, w.created_at, v.created_at AS updated_at`;
const CURRENT = `workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version`;

/** Every SQL statement on `workflows` and `workflow_versions`. */
export class WorkflowStore {
  constructor(private readonly db: Db) {}

  async insert(workflow: { id: string; orgId: string }, rules: WorkflowRules): Promise<WorkflowRow> {
    await this.db.query(`INSERT INTO workflows (id, org_id, name, current_version) VALUES ($1, $2, $3, 1)`, [
      workflow.id,
      workflow.orgId,
      rules.name,
    ]);
    await this.insertVersion(workflow.id, 1, rules);
    return (await this.find(workflow.orgId, workflow.id))!;
  }

  /** A new version, and the workflow pointed at it; the caller holds the workflow's row lock. */
  async addVersion(orgId: string, workflowId: string, version: number, rules: WorkflowRules): Promise<WorkflowRow> {
    await this.insertVersion(workflowId, version, rules);
    await this.db.query(`UPDATE workflows SET name = $2, current_version = $3, updated_at = now() WHERE id = $1`, [
      workflowId,
      rules.name,
      version,
    ]);
    return (await this.find(orgId, workflowId))!;
  }

  private async insertVersion(workflowId: string, version: number, rules: WorkflowRules): Promise<void> {
    await this.db.query(
      `INSERT INTO workflow_versions (workflow_id, version, name, description, match, required_approvals, approver_roles,
         auto_approve, priority)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        workflowId,
        version,
        rules.name,
        rules.description,
        JSON.stringify(rules.match),
        rules.required_approvals,
        rules.approver_roles,
        rules.auto_approve,
        rules.priority,
      ],
    );
  }

  /** The live workflow at its current version. */
  async find(orgId: string, workflowId: string): Promise<WorkflowRow | undefined> {
    const { rows } = await this.db.query<WorkflowRow>(
      `SELECT ${COLUMNS} FROM ${CURRENT} WHERE w.id = $1 AND w.org_id = $2 AND w.deleted_at IS NULL`,
      [workflowId, orgId],
    );
    return rows[0];
  }

  /** One version, also of a deleted workflow. */
  async version(orgId: string, workflowId: string, version: number): Promise<WorkflowRow | undefined> {
    const { rows } = await this.db.query<WorkflowRow>(
      `SELECT ${COLUMNS} FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id
       WHERE w.id = $1 AND w.org_id = $2 AND v.version = $3`,
      [workflowId, orgId, version],
    );
    return rows[0];
  }

  /** Whether the org has (or had: deleted workflows count) this workflow. */
  async existed(orgId: string, workflowId: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM workflows WHERE id = $1 AND org_id = $2`, [workflowId, orgId]);
    return rows.length > 0;
  }

  /**
   * The live workflow's current version, its row locked until the transaction ends. Locked alone,
   * then read: locked in one join, a writer that waited would find the version it no longer points at.
   */
  async lockLive(orgId: string, workflowId: string): Promise<WorkflowRow | undefined> {
    const { rows } = await this.db.query(`SELECT 1 FROM workflows WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL FOR UPDATE`, [
      workflowId,
      orgId,
    ]);
    return rows.length > 0 ? this.find(orgId, workflowId) : undefined;
  }

  async markDeleted(workflowId: string): Promise<void> {
    await this.db.query(`UPDATE workflows SET deleted_at = now(), updated_at = now() WHERE id = $1`, [workflowId]);
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<WorkflowRow[]> {
    const { rows } = await this.db.query<WorkflowRow>(
      `SELECT ${COLUMNS} FROM ${CURRENT} WHERE w.org_id = $1 AND w.deleted_at IS NULL AND ($2::text IS NULL OR w.id < $2)
       ORDER BY w.id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }

  /** The org's live workflows whose current version lists `roleName` in approver_roles, oldest first. */
  async namingApproverRole(orgId: string, roleName: string): Promise<Array<Pick<WorkflowRow, 'id' | 'name'>>> {
    const { rows } = await this.db.query<Pick<WorkflowRow, 'id' | 'name'>>(
      `SELECT w.id, v.name FROM ${CURRENT}
       WHERE w.org_id = $1 AND w.deleted_at IS NULL AND $2 = ANY (v.approver_roles) ORDER BY w.created_at, w.id`,
      [orgId, roleName],
    );
    return rows;
  }

  /** Every live workflow of the org at its current version, in the order judging tries them. */
  async live(orgId: string): Promise<WorkflowRow[]> {
    const { rows } = await this.db.query<WorkflowRow>(
      `SELECT ${COLUMNS} FROM ${CURRENT} WHERE w.org_id = $1 AND w.deleted_at IS NULL ORDER BY v.priority DESC, w.created_at, w.id`,
      [orgId],
    );
    return rows;
  }
}
