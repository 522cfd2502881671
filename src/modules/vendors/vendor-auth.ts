import type { components } from '../../../generated/api';
import { ValidationError } from '../../errors/api-error';

type AuthType = components['schemas']['VendorAuthType'];

/** What the gateway needs to call a vendor. `apiKey` is the decrypted credential: never log or return it. */
export interface VendorUpstream {
  id: string;
  orgId: string;
  baseUrl: string;
  authType: AuthType;
  headerName: string | null;
  apiKey: string;
  costHeader: string | null;
}

export const DEFAULT_QUERY_PARAMETER = 'api_key';

/** RFC 9110 token characters: what a header field name may be made of. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QUERY_PARAMETER = /^[A-Za-z0-9._~-]+$/;
/**
 * Headers a credential may not travel in: hop-by-hop ones (a proxy drops them), those that frame
 * or route the request (a credential there would break or redirect it), forwarding headers, and
 * Warden's own `X-Warden-*` control headers.
 */
const RESERVED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'forwarded',
]);
const RESERVED_HEADER_PREFIXES = ['x-warden-', 'x-forwarded-'];
/** Visible ASCII and space: anything else (CR, LF, NUL) could split a header or is no vendor's key. */
const CREDENTIAL = /^[\x20-\x7e]+$/;
/** Shorter credentials show no last four: four characters would give too much of them away. */
const LAST_FOUR_MIN_LENGTH = 16;

const invalid = (field: string, message: string) =>
  new ValidationError(`${field} ${message}.`, 'VENDOR_AUTH_INVALID', [{ location: 'body', field, message, rule: 'vendor_auth' }]);

/** A header name a credential or cost report may travel in, or why not. */
export function headerNameProblem(name: string): string | null {
  if (!HTTP_TOKEN.test(name)) return 'is not a valid HTTP header name';
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || RESERVED_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    return `names ${name}, which Warden sets or strips itself`;
  }
  return null;
}

/** Checks that auth_type, header_name and the credential fit together; returns the header_name to store. */
export function checkedHeaderName(authType: AuthType, headerName: string | null): string | null {
  switch (authType) {
    case 'bearer':
    case 'basic':
      if (headerName !== null) throw invalid('header_name', `applies only to auth_type header or query, not ${authType}`);
      return null;
    case 'header': {
      if (headerName === null) throw invalid('header_name', 'is required with auth_type header');
      const problem = headerNameProblem(headerName);
      if (problem) throw invalid('header_name', problem);
      return headerName;
    }
    case 'query':
      if (headerName !== null && !QUERY_PARAMETER.test(headerName)) {
        throw invalid('header_name', 'is not a plain query parameter name (letters, digits, . _ ~ -)');
      }
      return headerName ?? DEFAULT_QUERY_PARAMETER;
  }
}

export function checkCredential(authType: AuthType, apiKey: string): void {
  if (!CREDENTIAL.test(apiKey)) throw invalid('api_key', 'must be printable ASCII (no control characters)');
  if (authType === 'basic' && !apiKey.includes(':')) throw invalid('api_key', 'must be user:password with auth_type basic');
}

export function checkedCostHeader(costHeader: string | null): string | null {
  const problem = costHeader === null ? null : headerNameProblem(costHeader);
  if (problem) throw invalid('cost_header', problem);
  return costHeader;
}

export function lastFourOf(apiKey: string): string | null {
  return apiKey.length >= LAST_FOUR_MIN_LENGTH ? apiKey.slice(-4) : null;
}

/**
 * Puts the vendor's credential on an outgoing call, replacing whatever the agent sent under the
 * same header (any case) or query parameter, so an agent can neither see nor override it. The
 * agent's own `Authorization` (its gateway key) goes in every case: it is Warden's, not the vendor's.
 */
export function applyVendorCredential(upstream: VendorUpstream, url: URL, headers: Record<string, string>): void {
  const remove = (name: string) => {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name) delete headers[existing];
  };
  const set = (name: string, value: string) => {
    remove(name);
    headers[name] = value;
  };
  remove('authorization');
  switch (upstream.authType) {
    case 'bearer':
      set('authorization', `Bearer ${upstream.apiKey}`);
      return;
    case 'basic':
      set('authorization', `Basic ${Buffer.from(upstream.apiKey, 'utf8').toString('base64')}`);
      return;
    case 'header':
      set(upstream.headerName!.toLowerCase(), upstream.apiKey);
      return;
    case 'query':
      url.searchParams.set(upstream.headerName ?? DEFAULT_QUERY_PARAMETER, upstream.apiKey);
      return;
  }
}
