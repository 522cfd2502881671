import type { components } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { type EnvironmentRow, EnvironmentStore } from './environment-store';
import type { WorkspaceService } from './workspace-service';

type Environment = components['schemas']['Environment'];

const toEnvironment = (row: EnvironmentRow): Environment => ({
  id: row.id,
  workspace_id: row.workspace_id,
  name: row.name,
  created_at: row.created_at.toISOString(),
});

/** Seed 002's environments, kept per workspace. */
export class EnvironmentService {
  private readonly store: EnvironmentStore;

  constructor(
    db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly workspaces: Pick<WorkspaceService, 'assertInOrg'>,
  ) {
    this.store = new EnvironmentStore(db);
  }

  async list(principal: Principal, workspaceId: string, page: { limit: number; cursor?: string }) {
    await this.workspaceOf(principal, workspaceId);
    const rows = await this.store.list(workspaceId, decodeCursor(page.cursor), page.limit + 1);
    const result = pageOf(rows, page.limit);
    return { environments: result.items.map(toEnvironment), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async create(principal: Principal, workspaceId: string, name: string): Promise<Environment> {
    await this.workspaceOf(principal, workspaceId);
    try {
      return toEnvironment(await this.store.insert({ id: newId('env'), workspaceId, name }));
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(`The workspace already has an environment named '${name}'.`, 'ENVIRONMENT_NAME_TAKEN');
      }
      throw error;
    }
  }

  async delete(principal: Principal, workspaceId: string, environmentId: string): Promise<void> {
    await this.workspaceOf(principal, workspaceId);
    const deleted = await this.store.delete(workspaceId, environmentId);
    if (!deleted) throw new NotFoundError(`No environment '${environmentId}' exists in this workspace.`, 'ENVIRONMENT_NOT_FOUND');
    noteBefore(deleted);
  }

  /** The workspace must belong to the caller's org; any other is 404. */
  private async workspaceOf(principal: Principal, workspaceId: string): Promise<void> {
    await this.workspaces.assertInOrg(await this.orgs.scope(principal), workspaceId);
  }
}
