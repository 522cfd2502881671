import type { Principal } from '../../auth/principal';
import { ForbiddenError } from '../../errors/api-error';
import type { AccessRequestService } from '../access-requests';
import type { WorkflowService } from '../workflows';

/** Where role names decide access requests: workflows name them, pending requests recorded them. Reached lazily (they need roles). */
export interface DecisionRoleSources {
  workflows: Pick<WorkflowService, 'namingApproverRole'>;
  requests: Pick<AccessRequestService, 'pendingWaitingOnRole'>;
}

/** Which value of the refused request named the role. */
export interface RoleField {
  location: 'body' | 'path';
  field: string;
}

/**
 * Decision roles: a role whose name a live workflow of the org lists in `approver_roles` (or a
 * pending access request still waits on) says who decides access requests. The approval check
 * compares role names, so whoever could create, re-create, change, delete, assign or remove such
 * a role could make themselves an approver: an admin holding `request.approve` through the
 * built-in admin role would narrow the role to harmless permissions, assign it to themselves and
 * approve, or delete it and create a harmless namesake. Only an org owner (a holder of
 * `owner.grant`) touches such a role (403 `GRANT_REQUIRES_OWNER`), as only an owner grants
 * `request.approve` (grants.ts).
 */
export class DecisionRoles {
  constructor(private readonly sources: () => DecisionRoleSources) {}

  /** 403 `GRANT_REQUIRES_OWNER` unless the caller is an owner or no workflow or pending request names `roleName`. */
  async assertOwnerFor(principal: Principal, orgId: string, roleName: string, action: string, where: RoleField): Promise<void> {
    if (principal.permissions.has('owner.grant')) return;
    const { workflows, requests } = this.sources();
    const workflowsNaming = await workflows.namingApproverRole(orgId, roleName);
    let rule: string;
    let reason: string;
    if (workflowsNaming.length > 0) {
      rule = workflowsNaming.map((workflow) => `workflow '${workflow.name}' (${workflow.id})`).join(', ');
      reason = `'${roleName}' is an approver role of ${rule}, which lists it in approver_roles`;
    } else {
      const waiting = await requests.pendingWaitingOnRole(orgId, roleName);
      if (waiting.length === 0) return;
      rule = waiting.map((id) => `pending access request ${id}`).join(', ');
      reason = `'${roleName}' is an approver role that ${rule} waits on`;
    }
    throw new ForbiddenError(
      `You cannot ${action}: ${reason}. Only an org owner creates, changes, deletes, assigns or removes a role ` +
        'that decides access requests; ask an owner.',
      'GRANT_REQUIRES_OWNER',
      [{ ...where, message: `'${roleName}' decides access requests: ${rule}`, rule: 'owner_only' }],
    );
  }
}
