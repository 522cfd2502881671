import type { Db } from '../../db/db';

export interface EnvironmentRow {
  id: string;
  workspace_id: string;
  name: string;
  created_at: Date;
}

/** Every SQL statement on `environments`. */
export class EnvironmentStore {
  constructor(private readonly db: Db) {}

  /** In id order, from after the cursor id; one more than `limit` tells whether there is more. */
  async list(workspaceId: string, afterId: string | null, limit: number): Promise<EnvironmentRow[]> {
    const { rows } = await this.db.query<EnvironmentRow>(
      `SELECT * FROM environments WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [workspaceId, afterId, limit],
    );
    return rows;
  }

  /** The org's environments (of one workspace, or all), as list pages them. */
  async listInOrg(orgId: string, workspaceId: string | null, afterId: string | null, limit: number): Promise<EnvironmentRow[]> {
    const { rows } = await this.db.query<EnvironmentRow>(
      `SELECT e.* FROM environments e JOIN workspaces w ON w.id = e.workspace_id
       WHERE w.org_id = $1 AND ($2::text IS NULL OR e.workspace_id = $2) AND ($3::text IS NULL OR e.id > $3)
       ORDER BY e.id LIMIT $4`,
      [orgId, workspaceId, afterId, limit],
    );
    return rows;
  }

  async insert(environment: { id: string; workspaceId: string; name: string }): Promise<EnvironmentRow> {
    const { rows } = await this.db.query<EnvironmentRow>(
      `INSERT INTO environments (id, workspace_id, name) VALUES ($1, $2, $3) RETURNING *`,
      [environment.id, environment.workspaceId, environment.name],
    );
    return rows[0]!;
  }

  /**
   * The environment as it was; undefined when the org (or, when one is named, the workspace)
   * had no such environment.
   */
  async delete(
    orgId: string,
    environmentId: string,
    workspaceId: string | null,
  ): Promise<{ name: string; workspace_id: string } | undefined> {
    const { rows } = await this.db.query<{ name: string; workspace_id: string }>(
      `DELETE FROM environments e USING workspaces w
       WHERE e.id = $1 AND w.id = e.workspace_id AND w.org_id = $2 AND ($3::text IS NULL OR e.workspace_id = $3)
       RETURNING e.name, e.workspace_id`,
      [environmentId, orgId, workspaceId],
    );
    return rows[0];
  }
}
