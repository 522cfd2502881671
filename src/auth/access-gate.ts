import type { Request } from 'express';
import type { AuditWriter } from '../audit/audit-chain';
import { actorOf, currentRequestFacts, type NewAuditEvent, requestFactsOf, withRequestFacts } from '../audit/audit-event';
import { collectingBefore, type NotedActor, redacted } from '../audit/audited-change';
import type { RequestGate } from '../binding/binding';
import type { RuntimeContext, RuntimeResult } from '../binding/handler-types';
import type { BoundOperation } from '../binding/operation-table';
import type { Db } from '../db/db';
import { ForbiddenError, RateLimitedError } from '../errors/api-error';
import type { Authenticator } from './authenticator';
import { ALL_PERMISSIONS } from './permissions';
import { assertPlanFeature, isPlanFeature, PlanLimitError } from './plans';
import { ANONYMOUS, type Principal } from './principal';
import type { RateLimiter } from './rate-limiter';

/** The methods that overwrite or remove what exists: their audit event needs the state as it was. */
const OVERWRITES = new Set(['PUT', 'PATCH', 'DELETE']);

export class AccessGateError extends Error {
  constructor(readonly problems: string[]) {
    super(`The spec names access rules Warden does not know:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'AccessGateError';
  }
}

/**
 * Enforces each operation's `x-permission` (403 naming the permission), `x-plan-feature` (402)
 * and `x-rate-limit` (429, with `RateLimit-*` headers on every answer) for the binding.
 * Start-up fails when the spec names a permission, plan feature or rate-limit bucket that does
 * not exist, so a typo cannot open an operation.
 */
export function createAccessGate(options: {
  operations: BoundOperation[];
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  rateLimitBuckets: string[];
  upgradeUrl: string;
  db: Db;
  audit: AuditWriter;
  /** Dev and test: an audited overwrite whose service noted no `before` fails (500) instead of being logged. */
  validateResponses: boolean;
}): RequestGate {
  const { db, audit } = options;
  const problems: string[] = [];
  for (const { operationId, extensions, security } of options.operations) {
    if ((extensions.permission || extensions.planFeature) && security.length === 0) {
      problems.push(`${operationId}: x-permission and x-plan-feature need a caller, but the operation has \`security: []\``);
    }
    if (extensions.permission && !ALL_PERMISSIONS.has(extensions.permission)) {
      problems.push(`${operationId}: x-permission '${extensions.permission}' is not in the permission catalog`);
    }
    if (extensions.planFeature && !isPlanFeature(extensions.planFeature)) {
      problems.push(`${operationId}: x-plan-feature '${extensions.planFeature}' is in no plan`);
    }
    if (extensions.rateLimit && !options.rateLimitBuckets.includes(extensions.rateLimit)) {
      problems.push(`${operationId}: x-rate-limit '${extensions.rateLimit}' has no configured limits`);
    }
  }
  if (problems.length > 0) throw new AccessGateError(problems);

  /** An overwrite's event without `before` loses what was there: a bug in its service, loud where responses are validated. */
  function unnotedBefore(context: RuntimeContext<unknown>): void {
    const message = `${context.operationId} changed state under x-audit without noting its before (noteBefore)`;
    if (options.validateResponses) throw new Error(message);
    context.log.error({ operation_id: context.operationId }, message);
  }

  async function executeAudited(context: RuntimeContext<unknown>, run: () => Promise<RuntimeResult>): Promise<RuntimeResult> {
    const { audit: action } = context.operation.extensions;
    if (!action) return run();
    try {
      return await db.transaction(async () => {
        const { result, before, actor } = await collectingBefore(run);
        if (Number(result.status) >= 400) return result;
        if (before === undefined && OVERWRITES.has(context.operation.method)) unnotedBefore(context);
        await audit.append(auditedChange(context, action, result, before, actor));
        return result;
      });
    } catch (error) {
      if (error instanceof PlanLimitError)
        await audit.record(planDenial(context.principal as Principal, context.operation, context.req, error));
      throw error;
    }
  }

  return {
    anonymous: ANONYMOUS,
    async authenticate(req: Request, operation: BoundOperation) {
      const principal = await options.authenticator.authenticate(req, operation);
      // Every request made with an API key counts against the key's budget, whatever the operation.
      if (principal.apiKeyId) req.res!.set(options.rateLimiter.admitApiKey(principal));
      return principal;
    },
    async authorize(caller: unknown, operation: BoundOperation, req: Request) {
      const principal = caller as Principal;
      const { permission, planFeature } = operation.extensions;
      if (permission && !principal.permissions.has(permission)) {
        throw new ForbiddenError(`This operation needs the '${permission}' permission.`, 'PERMISSION_DENIED');
      }
      if (!planFeature || !principal.plan) return;
      try {
        assertPlanFeature(principal.plan, planFeature, options.upgradeUrl);
      } catch (error) {
        if (error instanceof PlanLimitError) await audit.record(planDenial(principal, operation, req, error));
        throw error;
      }
    },
    /**
     * An operation with `x-audit` runs in one transaction with its audit event: the event is
     * appended when the handler succeeds, and neither commits without the other. A quota refusal
     * (402) is recorded once the refused change has rolled back. The event of an overwrite (PUT,
     * PATCH, DELETE) carries the `before` its service noted; one that noted none is a bug.
     */
    execute(context: RuntimeContext<unknown>, run: () => Promise<RuntimeResult>) {
      // Only audited operations record events, so only they need the request's facts at hand: entering an
      // AsyncLocalStorage costs every later promise of the request a hook, which a plain read should not pay.
      const { extensions } = context.operation;
      if (!extensions.audit && !extensions.serviceAudit) return run();
      return withRequestFacts(requestFactsOf(context.req), () => executeAudited(context, run));
    },
    async throttle(operation: BoundOperation, req: Request, body: unknown, caller: unknown) {
      const email = (body as { email?: unknown } | undefined)?.email;
      const principal = caller as Principal;
      const bucket = operation.extensions.rateLimit!;
      const headers = await options.rateLimiter
        .hit(bucket, {
          ip: req.ip ?? req.socket.remoteAddress ?? 'unknown',
          email: typeof email === 'string' ? email : undefined,
          org: principal.orgId,
        })
        .catch(async (error: unknown) => {
          // A burst past a limit (guessing passwords, say) leaves one event per limit and window, not one per request.
          if (error instanceof RateLimitedError && error.firstOver.length > 0) {
            // The refusal stands whether or not it could be recorded: a failed record does not turn the 429 into a 500.
            await audit
              .record({
                orgId: principal.orgId ?? null,
                actor: actorOf(principal),
                action: 'rate_limit.exceeded',
                resourceType: 'rate_limit',
                resourceId: bucket,
                outcome: 'denied',
                ...requestFactsOf(req),
                details: {
                  operation: operation.operationId,
                  email: typeof email === 'string' ? email.toLowerCase() : null,
                  over: error.firstOver,
                },
              })
              .catch((failure: Error) => req.log.error({ err_message: failure.message }, 'rate limit refusal not recorded'));
          }
          throw error;
        });
      // Set before the handler runs, so its answer carries them whatever its status.
      req.res!.set(headers);
    },
  };
}

/**
 * The event of a successful audited operation: who, which org and workspace, what, on what, and
 * the change itself: `before` where the service noted the old values, `after` from the answer,
 * both with secrets redacted.
 */
function auditedChange(
  context: RuntimeContext<unknown>,
  action: string,
  result: RuntimeResult,
  before: Record<string, unknown> | null | undefined,
  noted: NotedActor | undefined,
): NewAuditEvent {
  const principal = context.principal as Principal;
  const params = context.params as Record<string, string | undefined>;
  const body = (result.body ?? {}) as Record<string, unknown>;
  const input = (context.body ?? {}) as Record<string, unknown>;
  const id = (value: unknown, prefix: string) => (typeof value === 'string' && value.startsWith(prefix) ? value : undefined);
  return {
    orgId: principal.orgId ?? noted?.orgId ?? params.org_id ?? id(body.org_id, 'org_') ?? id(body.id, 'org_') ?? null,
    actor: noted?.actor ?? actorOf(principal),
    workspaceId:
      noted?.workspaceId ??
      params.workspace_id ??
      id(params.id, 'ws_') ??
      id(body.workspace_id, 'ws_') ??
      id(body.id, 'ws_') ??
      id(input.workspace_id, 'ws_') ??
      null,
    action,
    resourceId:
      params.id ??
      params.agent_id ??
      params.user_id ??
      params.environment_id ??
      (body.id as string | undefined) ??
      (body.installation_id as string | undefined) ??
      // The trust operations name their agent only in the body.
      (input.sekuire_id as string | undefined) ??
      null,
    outcome: 'success',
    // Made ambient by execute, for the services of the same operation.
    ...currentRequestFacts(),
    details: {
      operation_id: context.operationId,
      status: Number(result.status),
      ...(context.query.force === true ? { force: true } : {}),
      ...(before !== undefined ? { before: redacted(before) } : {}),
      ...(result.body !== undefined ? { after: redacted(result.body) } : {}),
    },
  };
}

function planDenial(principal: Principal, operation: BoundOperation, req: Request, error: PlanLimitError): NewAuditEvent {
  return {
    orgId: principal.orgId,
    actor: actorOf(principal),
    action: 'plan.limit_exceeded',
    resourceType: 'plan',
    resourceId: principal.plan,
    outcome: 'denied',
    ...requestFactsOf(req),
    details: {
      operation_id: operation.operationId,
      code: error.code,
      required_plan: error.requiredPlan,
      ...(error.currentUsage ? { current_usage: error.currentUsage } : {}),
    },
  };
}
