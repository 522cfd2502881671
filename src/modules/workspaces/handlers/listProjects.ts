import type { Handler } from '../../handler';

export const listProjects: Handler<'listProjects'> = async ({ services, principal, query }) => {
  const { workspaces, ...page } = await services.workspaces.list(principal, undefined, { ...query, limit: query.limit ?? 50 });
  return { status: 200, body: { projects: workspaces, ...page } };
};
