import type { components } from '../../generated/api';

type Permission = components['schemas']['Permission'];
type BuiltInRoleName = components['schemas']['BuiltInRoleName'];

/**
 * The permission catalog: every permission an operation's `x-permission` may name. Start-up
 * fails when the spec names one that is not here. `platform` permissions belong to platform
 * admins only; roles and API keys hold `org` permissions.
 */
export const PERMISSION_CATALOG: readonly Permission[] = [
  { name: 'org.read', description: 'See your org and its plan.', scope: 'org' },
  { name: 'user.read', description: "See the org's users.", scope: 'org' },
  { name: 'user.edit', description: 'Create and delete users.', scope: 'org' },
  { name: 'workspace.read', description: 'See workspaces and their members.', scope: 'org' },
  { name: 'workspace.edit', description: 'Create and rename workspaces.', scope: 'org' },
  { name: 'workspace.delete', description: 'Delete workspaces.', scope: 'org' },
  { name: 'workspace_member.edit', description: 'Add and remove workspace members and set their workspace roles.', scope: 'org' },
  { name: 'environment.edit', description: "Create and delete a workspace's environments.", scope: 'org' },
  { name: 'api_key.read', description: "See the org's API keys (never their secrets).", scope: 'org' },
  { name: 'api_key.edit', description: 'Create, roll and revoke API keys.', scope: 'org' },
  { name: 'role.read', description: 'See roles and their permissions.', scope: 'org' },
  { name: 'role.edit', description: 'Create, change and delete custom roles.', scope: 'org' },
  { name: 'user_role.read', description: 'See which users hold which roles.', scope: 'org' },
  { name: 'user_role.edit', description: 'Assign roles to users and take them away.', scope: 'org' },
  { name: 'agent.read', description: 'See agents and verify them.', scope: 'org' },
  { name: 'agent.mint', description: 'Register and mint agents.', scope: 'org' },
  { name: 'agent.revoke', description: 'Revoke agents, permanently.', scope: 'org' },
  { name: 'agent.disable', description: 'Use the kill switch on agents, and lift it.', scope: 'org' },
  { name: 'install_token.create', description: 'Create install tokens that let an agent bootstrap into a workspace.', scope: 'org' },
  { name: 'installation.manage', description: 'Recover, revoke and register beacons of installations.', scope: 'org' },
  { name: 'trust.sign', description: "Have Warden sign trust headers for an agent's outgoing requests.", scope: 'org' },
  { name: 'audit.read', description: "Read the org's audit log.", scope: 'org' },
  { name: 'audit.verify', description: "Verify the org's audit chain.", scope: 'org' },
  { name: 'audit.configure', description: "Set how long the org's audit events are kept.", scope: 'org' },
  { name: 'audit.export', description: "Send the org's audit events to a SIEM (Datadog, Splunk, PagerDuty).", scope: 'org' },
  { name: 'policy.read', description: 'See policies, their versions and the effective policy of a workspace.', scope: 'org' },
  { name: 'policy.edit', description: "Create, change and delete policies, and set an agent's or a workspace's policies.", scope: 'org' },
  { name: 'vendor.read', description: 'See vendors (never their credentials).', scope: 'org' },
  { name: 'vendor.edit', description: "Create, change, delete vendors and rotate a vendor's credential.", scope: 'org' },
  { name: 'gateway_key.read', description: 'See gateway keys (never their secrets).', scope: 'org' },
  { name: 'gateway_key.edit', description: 'Create and revoke gateway keys that let an agent call a vendor through Warden.', scope: 'org' },
  { name: 'approval.read', description: 'See approval requests.', scope: 'org' },
  { name: 'approval.decide', description: "Approve or deny an agent's request, and set who is notified.", scope: 'org' },
  { name: 'billing.read', description: 'See billing events, usage summaries and the state snapshot.', scope: 'org' },
  { name: 'billing.edit', description: 'Change billing settings, create the Stripe customer and invoice fees in Stripe.', scope: 'org' },
  { name: 'workflow.read', description: 'See approval workflows and their versions.', scope: 'org' },
  {
    name: 'workflow.edit',
    description:
      'Create, change and delete the workflows that decide how access requests are approved (owners only among the built-in roles).',
    scope: 'org',
  },
  { name: 'request.read', description: 'See every access request of the org (a requester always sees their own).', scope: 'org' },
  { name: 'request.create', description: 'Ask to read or change a secret (an access request).', scope: 'org' },
  { name: 'request.approve', description: 'Approve or reject access requests the workflow lets you decide.', scope: 'org' },
  { name: 'secret.read', description: 'See discovered secrets (names, places and labels; never values).', scope: 'org' },
  { name: 'job.read', description: "See the agents' job queue.", scope: 'org' },
  { name: 'job.create', description: "Put a job on the agents' queue by hand.", scope: 'org' },
  { name: 'integration.read', description: 'See Argo CD endpoints and GitOps application mappings (never their tokens).', scope: 'org' },
  {
    name: 'integration.edit',
    description: 'Add, enable, disable and delete Argo CD endpoints and GitOps application mappings.',
    scope: 'org',
  },
  { name: 'ledger.read', description: "See the org's ledger accounts, balances and transfer statistics.", scope: 'org' },
  { name: 'ledger.fund', description: "Record money paid into the org's or its agents' ledger accounts.", scope: 'org' },
  {
    name: 'marketplace.hire',
    description: 'Hire agents listed on the registry network, with an initial charge from the org account.',
    scope: 'org',
  },
  { name: 'registry.edit', description: "List the org's agents on the registry network and take them off.", scope: 'org' },
  {
    name: 'image.read',
    description: 'See scanned images, their scans and reports, and registry credentials (never their secrets).',
    scope: 'org',
  },
  { name: 'image.scan', description: 'Scan container images.', scope: 'org' },
  { name: 'image.credential.edit', description: 'Add and delete the registry credentials image scans present.', scope: 'org' },
  { name: 'support.read', description: "See the org's support tickets.", scope: 'org' },
  { name: 'support.create', description: 'Open support tickets (email, priority, Slack, CSM as the plan allows).', scope: 'org' },
  { name: 'owner.grant', description: 'Make other users owners (only owners hold it).', scope: 'org' },
  { name: 'org.create', description: 'Create orgs.', scope: 'platform' },
  { name: 'org.plan.edit', description: "Change an org's plan.", scope: 'platform' },
  {
    name: 'billing.terms.edit',
    description:
      "Set the terms an org is billed on (fee mode, take rate, per-action fee, monthly retainer): the operator's to set, not the org's.",
    scope: 'platform',
  },
];

export const ALL_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSION_CATALOG.map((permission) => permission.name));
export const ORG_PERMISSIONS: readonly string[] = PERMISSION_CATALOG.filter((p) => p.scope === 'org').map((p) => p.name);

/** What every member may read; the audit log is for owners and admins. */
const READ_PERMISSIONS = ORG_PERMISSIONS.filter((name) => name.endsWith('.read') && name !== 'audit.read');

export interface BuiltInRole {
  id: string;
  name: BuiltInRoleName;
  description: string;
  permissions: readonly string[];
}

/**
 * What the built-in admin role lacks: making owners, and writing the workflows that say who
 * decides access requests and which auto-approve. An admin who could write an auto-approving
 * workflow for their own request would approve it alone, so workflows are owner-governed (a
 * custom role may carry `workflow.edit`, but only an owner grants it).
 */
const OWNER_ONLY: ReadonlySet<string> = new Set(['owner.grant', 'workflow.edit']);

/** The same four roles in every org; their permissions follow the catalog as it grows. */
export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  { id: 'rol_owner', name: 'owner', description: 'Everything in the org, including making other owners.', permissions: ORG_PERMISSIONS },
  {
    id: 'rol_admin',
    name: 'admin',
    description: 'Everything in the org except making owners and writing approval workflows.',
    permissions: ORG_PERMISSIONS.filter((name) => !OWNER_ONLY.has(name)),
  },
  {
    id: 'rol_member',
    name: 'member',
    description: 'Reads everything and works in workspaces.',
    permissions: [
      ...READ_PERMISSIONS,
      'workspace.edit',
      'agent.mint',
      'install_token.create',
      'request.create',
      'support.create',
      'image.scan',
    ],
  },
  { id: 'rol_viewer', name: 'viewer', description: 'Reads everything, changes nothing.', permissions: READ_PERMISSIONS },
];

/** 403 naming every permission the caller would grant without holding it: nobody grants more than they have. */
export function missingPermissions(granting: Iterable<string>, held: ReadonlySet<string>): string[] {
  return [...granting].filter((permission) => !held.has(permission));
}

export function builtInRole(nameOrId: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((role) => role.name === nameOrId || role.id === nameOrId);
}

/** A role assigned to a user: a custom role's name and permissions, or nulls for a built-in role (which has no row). */
export interface RoleAssignment {
  role_id: string;
  name: string | null;
  permissions: string[] | null;
}

const ORG_PERMISSION_SET: ReadonlySet<string> = new Set(ORG_PERMISSIONS);

/** A user's roles and permissions: their built-in role, plus every role assigned to them. */
export function rolesAndPermissions(builtInRoleName: string, assigned: RoleAssignment[]): { roles: string[]; permissions: Set<string> } {
  const roles = [builtInRoleName];
  const permissions = new Set(builtInRole(builtInRoleName)?.permissions ?? []);
  for (const assignment of assigned) {
    const role = builtInRole(assignment.role_id) ?? assignment;
    if (!role.name) continue;
    roles.push(role.name);
    for (const permission of role.permissions ?? []) if (ORG_PERMISSION_SET.has(permission)) permissions.add(permission);
  }
  return { roles, permissions };
}
