import type { components } from '../../generated/api';
import type { PlanName } from '../config/config';
import { ApiError } from '../errors/api-error';

type Plan = components['schemas']['Plan'];
export type Quota = keyof Plan['quotas'];

/**
 * The plan table: cheapest first, each plan including everything the cheaper ones do. Served
 * as-is by `GET /api/v1/plans`; `x-plan-feature` and the quota checks read it on every request,
 * so a plan change takes effect at once.
 */
export const PLANS: readonly Plan[] = [
  { name: 'free', features: [], quotas: { workspaces: 1, api_keys: 3, users: 3, agents: 3 }, audit_log_retention_days: 7 },
  {
    name: 'starter',
    features: ['audit_logs', 'custom_roles', 'fleet_ops', 'email_support'],
    quotas: { workspaces: 5, api_keys: 10, users: 10, agents: 25 },
    audit_log_retention_days: 90,
  },
  {
    name: 'professional',
    features: [
      'audit_logs',
      'custom_roles',
      'fleet_ops',
      'siem_export',
      'priority_support',
      'registry_network',
      'email_support',
      'slack_support',
    ],
    quotas: { workspaces: 25, api_keys: 50, users: 50, agents: 250 },
    audit_log_retention_days: 365,
  },
  {
    name: 'enterprise',
    features: [
      'audit_logs',
      'custom_roles',
      'fleet_ops',
      'siem_export',
      'priority_support',
      'registry_network',
      'custom_retention',
      'compliance_reports',
      'dedicated_csm',
      'email_support',
      'slack_support',
    ],
    quotas: { workspaces: null, api_keys: null, users: null, agents: null },
    audit_log_retention_days: 365,
  },
];

const ALL_FEATURES = new Set(PLANS.flatMap((plan) => plan.features));

export function planNamed(name: PlanName): Plan {
  return PLANS.find((plan) => plan.name === name)!;
}

export function isPlanFeature(feature: string): boolean {
  return ALL_FEATURES.has(feature);
}

/** The seed-000 402 body: `plan_limit_exceeded`, the cheapest plan that would do, and usage for quotas. */
export class PlanLimitError extends ApiError {
  readonly status = 402;
  readonly kind = 'plan_limit_exceeded';
  constructor(
    message: string,
    code: ApiError['code'],
    readonly requiredPlan: PlanName,
    readonly upgradeUrl: string,
    readonly currentUsage?: { current: number; max: number },
  ) {
    super(message, code);
  }

  override toBody(requestId: string): components['schemas']['PlanLimitError'] {
    return {
      error: 'plan_limit_exceeded',
      message: this.message,
      code: this.code,
      required_plan: this.requiredPlan,
      upgrade_url: this.upgradeUrl,
      ...(this.currentUsage ? { current_usage: this.currentUsage } : {}),
      request_id: requestId,
    };
  }
}

/** 402 unless the plan includes the feature. */
export function assertPlanFeature(planName: PlanName, feature: string, upgradeUrl: string): void {
  if (planNamed(planName).features.includes(feature)) return;
  const required = PLANS.find((plan) => plan.features.includes(feature))!.name;
  throw new PlanLimitError(
    `Your current plan (${planName}) does not include ${feature}. Upgrade to ${required} or higher.`,
    `${feature.toUpperCase()}_REQUIRES_UPGRADE` as ApiError['code'],
    required,
    upgradeUrl,
  );
}

/** 402 with `current_usage` when one more object of this kind would exceed the plan's quota. */
export function assertQuota(planName: PlanName, quota: Quota, current: number, upgradeUrl: string): void {
  const max = planNamed(planName).quotas[quota];
  if (max === null || current < max) return;
  const required = PLANS.find((plan) => {
    const limit = plan.quotas[quota];
    return limit === null || limit > current;
  })!.name;
  throw new PlanLimitError(
    `Your current plan (${planName}) allows ${max} ${quota.replace('_', ' ')}. Upgrade to ${required} or higher.`,
    `${quota.toUpperCase()}_LIMIT_REACHED` as ApiError['code'],
    required,
    upgradeUrl,
    { current, max },
  );
}
