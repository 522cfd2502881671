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

  async insert(environment: { id: string; workspaceId: string; name: string }): Promise<EnvironmentRow> {
    const { rows } = await this.db.query<EnvironmentRow>(
      `INSERT INTO environments (id, workspace_id, name) VALUES ($1, $2, $3) RETURNING *`,
      [environment.id, environment.workspaceId, environment.name],
    );
    return rows[0]!;
  }

  /** The environment as it was; undefined when the workspace had no such environment. */
  async delete(workspaceId: string, environmentId: string): Promise<{ name: string } | undefined> {
    const { rows } = await this.db.query<{ name: string }>(`DELETE FROM environments WHERE id = $1 AND workspace_id = $2 RETURNING name`, [
      environmentId,
      workspaceId,
    ]);
    return rows[0];
  }
}
