import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { GatewayConfig } from '../../config/config';
import {
  ApiError,
  BadGatewayError,
  BadRequestError,
  GatewayDeniedError,
  GatewayTimeoutError,
  PayloadTooLargeError,
} from '../../errors/api-error';
import { usdToMicros } from '../../lib/money';
import {
  DestinationRefusedError,
  DestinationUnresolvableError,
  type ForwardedResponse,
  type OutboundHttp,
  UpstreamFailureError,
  UpstreamTimeoutError,
} from '../../outbound/outbound-http';
import { type CallToDecide, type DecisionService, type GovernedCaller, governedCaller, type Ruling } from '../decisions';
import { canonicalPath } from '../policies';
import { applyVendorCredential, type VendorService, type VendorUpstream, vendorNotFound } from '../vendors';

/** The part of the decisions module the gateway calls: the one evaluator, and the metering after the call. */
export type GatewayDecisions = Pick<DecisionService, 'decide' | 'settle'>;
/** The part of the vendors module the gateway calls: null when absent, deleted or another org's. */
export type VendorUpstreams = Pick<VendorService, 'upstreamFor'>;

/** What the gateway reads of a request: the binding's handler context satisfies it. */
export interface GatewayRequest {
  principal: Principal;
  params: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** The request itself, its body still unread (the operation is `x-stream-body`). */
  req: IncomingMessage & { originalUrl?: string; res?: ServerResponse | null };
}
/** The vendor's answer, its body streaming: status, end-to-end headers and body as the vendor sent them. */
export type GatewayAnswer = ForwardedResponse;

/** The gateway's limits on one forwarded call (GATEWAY_TIMEOUT_MS, GATEWAY_MAX_REQUEST_BYTES). */
export type GatewayLimits = GatewayConfig;

/** Marks a call a Warden gateway forwarded; one arriving with it is a loop (GATEWAY_LOOP). */
const HOP_HEADER = 'x-warden-gateway-hop';

/** Warden's own request headers: they steer the gateway and are none of the vendor's business. */
const WARDEN_HEADER = /^x-warden-/;

/** How long an agent told to wait for a human should wait before asking again (Retry-After). */
const APPROVAL_RETRY_AFTER_SECONDS = 30;

/**
 * The gateway's data path. The binding has authenticated the gateway key (its agent is live, its
 * vendor not deleted); then the one evaluator rules on the call (policies, daily budget, human
 * approval), and an allowed call goes to the vendor's `base_url` with the vendor's credential in
 * place of the agent's, streamed both ways. Every call is metered (billing event) and audited,
 * whatever its outcome; a call that never reached the vendor spends nothing.
 */
export class GatewayService {
  private readonly decisions: GatewayDecisions;
  private readonly vendors: VendorUpstreams;
  private readonly outbound: OutboundHttp;
  private readonly limits: GatewayLimits;

  constructor(deps: { decisions: GatewayDecisions; vendors: VendorUpstreams; outbound: OutboundHttp; limits: GatewayLimits }) {
    this.decisions = deps.decisions;
    this.vendors = deps.vendors;
    this.outbound = deps.outbound;
    this.limits = deps.limits;
  }

  async forward(request: GatewayRequest): Promise<GatewayAnswer> {
    const caller = governedCaller(request.principal);
    const vendorId = String(request.params.vendor_id);
    // A key opens its own vendor only; another vendor of the same org is as absent as another org's.
    if (request.principal.gatewayKey?.vendorId !== vendorId) throw vendorNotFound(vendorId);
    // A vendor whose base_url is a Warden gateway (this one, or another) would send each call round again.
    if (request.headers[HOP_HEADER] !== undefined) {
      throw new BadRequestError('The call already went through a Warden gateway: a vendor may not point back at one.', 'GATEWAY_LOOP');
    }
    const rawPath = String(request.params.path);
    assertNoDotSegment(rawPath);
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > this.limits.maxRequestBytes) throw new PayloadTooLargeError(this.limits.maxRequestBytes);

    const method = request.req.method ?? 'GET';
    const target = request.req.originalUrl ?? request.req.url ?? '';
    const call: CallToDecide = {
      action: declaredAction(headerOf(request.headers, 'x-warden-action'), method, rawPath),
      method,
      path: `/${rawPath}`,
      query: target.includes('?') ? target.slice(target.indexOf('?')) : '',
      costMicros: usdToMicros(Number(headerOf(request.headers, 'x-warden-cost-usd') ?? 0)),
      vendorId,
      approvalId: headerOf(request.headers, 'x-warden-approval-id') ?? null,
    };
    const ruling = await this.decisions.decide(caller, call);
    if (ruling.decision === 'deny') {
      await this.decisions.settle(caller, call, ruling, { statusCode: 403, vendorCostMicros: null, released: true });
      throw denial(ruling);
    }
    if (ruling.decision === 'approval_required') {
      await this.decisions.settle(caller, call, ruling, { statusCode: 202, vendorCostMicros: null, released: true });
      return approvalRequired(ruling);
    }
    return this.callVendor(request, caller, call, ruling, declared);
  }

  /**
   * An allowed call, forwarded and metered. One Warden could not send (its vendor gone, its address
   * refused, no connection to it) gives its reservation back; once sending began, the vendor may have acted on it, so
   * the declared cost stands whatever happens next (a timeout, a broken connection, the agent
   * hanging up): leaving early is no way around the budget.
   */
  private async callVendor(request: GatewayRequest, caller: GovernedCaller, call: CallToDecide, ruling: Ruling, declared: number) {
    let sending = false;
    let answer: ForwardedResponse;
    let upstream: VendorUpstream | null;
    try {
      upstream = await this.vendors.upstreamFor(caller.orgId, call.vendorId!, ruling.epoch);
      if (!upstream) throw vendorNotFound(call.vendorId!);
      answer = await this.send(
        request,
        upstream,
        declared,
        () => {
          sending = true;
        },
        () => {
          sending = false;
        },
      );
    } catch (error) {
      const statusCode = error instanceof ApiError ? error.status : 500;
      // A body cut off past the limit is Warden's refusal: the vendor got a truncated request, not a call.
      const released = !sending || error instanceof PayloadTooLargeError;
      await this.decisions.settle(caller, call, ruling, { statusCode, vendorCostMicros: null, released });
      throw error;
    }
    await this.decisions.settle(caller, call, ruling, {
      statusCode: answer.status,
      vendorCostMicros: upstream.costHeader ? reportedCost(answer.headers[upstream.costHeader.toLowerCase()]) : null,
      released: false,
    });
    // A vendor's cookie would be set on Warden's origin, where the agent's other calls go.
    delete answer.headers['set-cookie'];
    return answer;
  }

  private async send(
    request: GatewayRequest,
    upstream: VendorUpstream,
    declared: number,
    sending: () => void,
    notSent: () => void,
  ): Promise<ForwardedResponse> {
    const { req } = request;
    const url = upstreamUrl(upstream.baseUrl, String(request.params.path), req.originalUrl ?? req.url ?? '');
    const headers = forwardedHeaders(request.headers);
    applyVendorCredential(upstream, url, headers);
    headers[HOP_HEADER] = '1';
    try {
      // Checked here (scheme, an IP literal's address) and at each new connection (what the name resolves to).
      const route = this.outbound.route(url);
      const chunked = request.headers['transfer-encoding'] !== undefined;
      // Node's parser holds a declared length to what arrives, so only a chunked body needs counting.
      const body = chunked ? capped(req, this.limits.maxRequestBytes) : declared > 0 ? req : undefined;
      sending();
      return await this.outbound.forward(route, {
        method: req.method ?? 'GET',
        headers,
        ...(body ? { body } : {}),
        timeoutMs: this.limits.timeoutMs,
        // The caller leaving before the answer's headers cancels the call; after them, the piped answer's own teardown does.
        ...(req.res ? { closedBy: req.res } : {}),
      });
    } catch (error) {
      if (error instanceof DestinationRefusedError || error instanceof DestinationUnresolvableError) {
        notSent();
        throw new BadGatewayError(`Warden may not call this vendor's address: it ${error.message}.`, 'UPSTREAM_REFUSED');
      }
      if (error instanceof UpstreamTimeoutError) {
        throw new GatewayTimeoutError(`The vendor did not answer within ${this.limits.timeoutMs} ms.`, 'UPSTREAM_TIMEOUT');
      }
      if (error instanceof UpstreamFailureError) {
        if (error.unsent) notSent();
        throw new BadGatewayError(`The vendor could not be reached or broke the connection (${error.message}).`, 'UPSTREAM_UNREACHABLE');
      }
      throw error;
    }
  }
}

/**
 * The action policy judges: the agent's `X-Warden-Action`, else `METHOD /path`. A declared action
 * written as `METHOD /path` must be the call itself: it names what policy checks against the
 * request, so it cannot stand for another method or path.
 */
function declaredAction(declared: string | undefined, method: string, rawPath: string): string {
  const actual = `${method} /${rawPath}`;
  if (declared === undefined) return actual;
  const asRequest = /^([A-Za-z]+) (\/.*)$/.exec(declared);
  if (asRequest) {
    const [, declaredMethod, declaredPath] = asRequest;
    const same = declaredMethod!.toUpperCase() === method && canonicalPath(declaredPath!) === canonicalPath(`/${rawPath}`);
    if (!same) {
      throw new BadRequestError(`X-Warden-Action '${declared}' names another call than ${method} /${rawPath}.`, 'ACTION_MISMATCH');
    }
  }
  return declared;
}

/** The first value of a header that may be repeated. */
const firstOf = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const headerOf = (headers: IncomingHttpHeaders, name: string): string | undefined => firstOf(headers[name]);

function denial(ruling: Ruling): GatewayDeniedError {
  if (ruling.denyReason === 'budget_exceeded') {
    return new GatewayDeniedError(
      `The agent's daily budget is spent; it resets at ${ruling.budgetResetsAt.toISOString()}.`,
      'BUDGET_EXCEEDED',
      ruling,
    );
  }
  return new GatewayDeniedError(`Policy refused the call: ${ruling.denyReason}.`, 'POLICY_DENIED', ruling);
}

/**
 * The vendor's own account of what the call cost (its `cost_header`, USD): a well-formed amount
 * within the bounds a declared cost may have, else none (the declared cost stands).
 */
function reportedCost(value: string | string[] | undefined): number | null {
  const text = firstOf(value);
  return text !== undefined && /^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(text.trim()) ? usdToMicros(Number(text.trim())) : null;
}

function approvalRequired(ruling: Ruling): GatewayAnswer {
  const body = JSON.stringify({
    status: 'approval_required',
    approval_id: ruling.approvalId,
    policy_id: ruling.policyId,
    policy_version: ruling.policyVersion,
    expires_at: ruling.approvalExpiresAt?.toISOString(),
    message:
      'A human must approve this call: wait on GET /api/v1/approvals/{approval_id}?wait=30, then send it again with X-Warden-Approval-Id.',
    request_id: currentRequestFacts().requestId,
  });
  return {
    status: 202,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'retry-after': String(APPROVAL_RETRY_AFTER_SECONDS),
      'x-warden-approval-id': ruling.approvalId!,
    },
    body: Readable.from([Buffer.from(body)]),
  };
}

/**
 * A dot segment, in any spelling a server may decode (`..`, `%2e%2E`, `..%2f` inside one segment),
 * could climb out of the vendor's base path, so it is refused before anything is decided.
 */
function assertNoDotSegment(rawPath: string): void {
  for (const segment of rawPath.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new BadRequestError('The gateway path is not valid percent-encoding.', 'MALFORMED_PATH');
    }
    if (decoded.split(/[/\\]/).some((piece) => piece === '.' || piece === '..')) {
      throw new BadRequestError('The gateway path may not hold a dot segment (. or ..).', 'GATEWAY_PATH_REFUSED');
    }
  }
}

/** `base_url` + the caller's path and query as sent. */
function upstreamUrl(baseUrl: string, rawPath: string, requestTarget: string): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${rawPath}`;
  const query = requestTarget.indexOf('?');
  url.search = query === -1 ? '' : requestTarget.slice(query);
  return url;
}

/** The agent's headers minus its gateway key and Warden's own; hop-by-hop ones go in OutboundHttp.forward. */
function forwardedHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || name === 'authorization' || WARDEN_HEADER.test(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** The body, failing with 413 once more than `limit` bytes have streamed through. */
function capped(body: Readable, limit: number): Readable {
  let passed = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      passed += chunk.length;
      done(passed > limit ? new PayloadTooLargeError(limit) : null, chunk);
    },
  });
  body.on('error', (error) => counter.destroy(error));
  return body.pipe(counter);
}
