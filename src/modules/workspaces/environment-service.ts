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
import type { WorkspaceService, WorkspaceTerm } from './workspace-service';

type Environment = components['schemas']['Environment'];
type Page = { limit: number; cursor?: string };

const toEnvironment = (row: EnvironmentRow): Environment => ({
  id: row.id,
  workspace_id: row.workspace_id,
  project_id: row.workspace_id,
  name: row.name,
  created_at: row.created_at.toISOString(),
});

const toPage = (rows: EnvironmentRow[], limit: number) => {
  const result = pageOf(rows, limit);
  return { environments: result.items.map(toEnvironment), has_more: result.has_more, next_cursor: result.next_cursor };
};

/**
 * Seed 002's environments, kept per workspace. `term` words the answers as the path family the
 * caller used (see WorkspaceTerm).
 */
export class EnvironmentService {
  private readonly store: EnvironmentStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly workspaces: Pick<WorkspaceService, 'assertInOrg' | 'assertOpen'>,
  ) {
    this.store = new EnvironmentStore(db);
  }

  async list(principal: Principal, workspaceId: string, page: Page, term: WorkspaceTerm = 'workspace') {
    await this.workspaces.assertInOrg(await this.orgs.scope(principal), workspaceId, term);
    return toPage(await this.store.list(workspaceId, decodeCursor(page.cursor), page.limit + 1), page.limit);
  }

  /** Every environment of the org, or of one of its projects (404 when the org has no such project). */
  async listInOrg(principal: Principal, query: Page & { project_id?: string }) {
    const orgId = await this.orgs.scope(principal);
    if (query.project_id !== undefined) await this.workspaces.assertInOrg(orgId, query.project_id, 'project');
    const rows = await this.store.listInOrg(orgId, query.project_id ?? null, decodeCursor(query.cursor), query.limit + 1);
    return toPage(rows, query.limit);
  }

  /** An archived workspace takes none (409 `PROJECT_ARCHIVED`). */
  async create(principal: Principal, workspaceId: string, name: string, term: WorkspaceTerm = 'workspace'): Promise<Environment> {
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async () => {
      await this.workspaces.assertOpen(orgId, workspaceId, term);
      try {
        return toEnvironment(await this.store.insert({ id: newId('env'), workspaceId, name }));
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new ConflictError(`The ${term} already has an environment named '${name}'.`, 'ENVIRONMENT_NAME_TAKEN');
        }
        throw error;
      }
    });
  }

  /** Seed 000 names the workspace too (404 unless it is the org's and holds the environment); seed 002 only the environment. */
  async delete(principal: Principal, environmentId: string, workspaceId?: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    if (workspaceId !== undefined) await this.workspaces.assertInOrg(orgId, workspaceId);
    const deleted = await this.store.delete(orgId, environmentId, workspaceId ?? null);
    if (!deleted) {
      const where = workspaceId === undefined ? 'this org' : 'this workspace';
      throw new NotFoundError(`No environment '${environmentId}' exists in ${where}.`, 'ENVIRONMENT_NOT_FOUND');
    }
    noteBefore(deleted);
  }
}
