import type { Request } from 'express';
import type { RequestGate } from '../binding/binding';
import type { BoundOperation } from '../binding/operation-table';
import { ForbiddenError } from '../errors/api-error';
import type { Authenticator } from './authenticator';
import { ALL_PERMISSIONS } from './permissions';
import { assertPlanFeature, isPlanFeature } from './plans';
import { ANONYMOUS, type Principal } from './principal';
import type { RateLimiter } from './rate-limiter';

export class AccessGateError extends Error {
  constructor(readonly problems: string[]) {
    super(`The spec names access rules Warden does not know:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'AccessGateError';
  }
}

/**
 * Enforces each operation's `x-permission` (403 naming the permission), `x-plan-feature` (402)
 * and `x-rate-limit` (429) for the binding. Start-up fails when the spec names a permission,
 * plan feature or rate-limit bucket that does not exist, so a typo cannot open an operation.
 */
export function createAccessGate(options: {
  operations: BoundOperation[];
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  rateLimitBuckets: string[];
  upgradeUrl: string;
}): RequestGate {
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

  return {
    anonymous: ANONYMOUS,
    authenticate: (req: Request, operation: BoundOperation) => options.authenticator.authenticate(req, operation),
    authorize(caller: unknown, operation: BoundOperation) {
      const principal = caller as Principal;
      const { permission, planFeature } = operation.extensions;
      if (permission && !principal.permissions.has(permission)) {
        throw new ForbiddenError(`This operation needs the '${permission}' permission.`, 'PERMISSION_DENIED');
      }
      if (planFeature && principal.plan) assertPlanFeature(principal.plan, planFeature, options.upgradeUrl);
    },
    async throttle(operation: BoundOperation, req: Request, body: unknown) {
      const email = (body as { email?: unknown } | undefined)?.email;
      await options.rateLimiter.hit(operation.extensions.rateLimit!, {
        ip: req.ip ?? req.socket.remoteAddress ?? 'unknown',
        email: typeof email === 'string' ? email : undefined,
      });
    },
  };
}
