import type { Db } from '../../db/db';
import type { components } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { assertWorkspaceInOrg } from './workspace-service';

type Environment = components['schemas']['Environment'];
interface EnvironmentRow {
  id: string;
  workspace_id: string;
  name: string;
  created_at: Date;
}

const toEnvironment = (row: EnvironmentRow): Environment => ({
  id: row.id,
  workspace_id: row.workspace_id,
  name: row.name,
  created_at: row.created_at.toISOString(),
});

/** Seed 002's environments, kept per workspace. */
export class EnvironmentService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
  ) {}

  async list(principal: Principal, workspaceId: string, page: { limit: number; cursor?: string }) {
    await this.workspaceOf(principal, workspaceId);
    const rows: EnvironmentRow[] = await this.db.untypedQuery(
      `SELECT * FROM environments WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [workspaceId, decodeCursor(page.cursor), page.limit + 1],
    );
    const result = pageOf(rows, page.limit);
    return { environments: result.items.map(toEnvironment), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async create(principal: Principal, workspaceId: string, name: string): Promise<Environment> {
    await this.workspaceOf(principal, workspaceId);
    try {
      const [row] = await this.db.untypedQuery(`INSERT INTO environments (id, workspace_id, name) VALUES ($1, $2, $3) RETURNING *`, [
        newId('env'),
        workspaceId,
        name,
      ]);
      return toEnvironment(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`The workspace already has an environment named '${name}'.`, 'ENVIRONMENT_NAME_TAKEN');
      throw error;
    }
  }

  async delete(principal: Principal, workspaceId: string, environmentId: string): Promise<void> {
    await this.workspaceOf(principal, workspaceId);
    const [, deleted] = await this.db.untypedQuery(`DELETE FROM environments WHERE id = $1 AND workspace_id = $2`, [environmentId, workspaceId]);
    if (deleted === 0) throw new NotFoundError(`No environment '${environmentId}' exists in this workspace.`, 'ENVIRONMENT_NOT_FOUND');
  }

  /** The workspace must belong to the caller's org; any other is 404. */
  private async workspaceOf(principal: Principal, workspaceId: string): Promise<void> {
    await assertWorkspaceInOrg(this.db.manager, await this.orgs.scope(principal), workspaceId);
  }
}
