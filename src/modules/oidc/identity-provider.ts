import type { OidcConfig } from '../../config/config';
import { BadGatewayError, UnauthorizedError } from '../../errors/api-error';
import { outboundFetch } from '../../outbound/outbound-fetch';
import {
  DestinationRefusedError,
  DestinationUnresolvableError,
  type OutboundHttp,
  UpstreamFailureError,
  UpstreamTimeoutError,
} from '../../outbound/outbound-http';

/** openid-client is ESM only; Warden is CommonJS, so it is loaded with import() on first use. */
type OpenIdClient = typeof import('openid-client', { with: { 'resolution-mode': 'import' }});
type Configuration = Awaited<ReturnType<OpenIdClient['discovery']>>;

/** What the provider said about the user: the ID token's claims, with userinfo's where the token is silent. */
export type Claims = Record<string, unknown> & { sub: string };

/** The secrets one sign-in attempt keeps on the server until its callback. */
export interface AttemptSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Discovery documents and keys change rarely; an hour bounds how long a changed one goes unnoticed. */
const METADATA_TTL_MS = 3_600_000;
/** Discovery documents, JWKS and token answers are small; this bounds what a hostile provider can make Warden read. */
const MAX_RESPONSE_BYTES = 256 * 1024;

const OUTBOUND_ERRORS = [DestinationRefusedError, DestinationUnresolvableError, UpstreamFailureError, UpstreamTimeoutError];

/**
 * The configured OpenID provider, spoken to with openid-client (discovery, PKCE, ID token
 * validation) over Warden's outbound client: the issuer is operator configuration, yet its calls
 * obey the same SSRF rules as any other (an internal issuer goes in OUTBOUND_ALLOWED_HOSTS, its
 * CA in OUTBOUND_CA_FILE).
 */
export class IdentityProvider {
  private metadata: { configuration: Promise<Configuration>; expiresAt: number } | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly outbound: OutboundHttp,
    private readonly timeoutMs: number,
  ) {}

  /** Fresh random `state`, `nonce` and PKCE verifier, and the authorization URL that carries them (the challenge, not the verifier). */
  async authorizationUrl(): Promise<{ url: URL; secrets: AttemptSecrets }> {
    const client = await import('openid-client');
    const configuration = await this.configuration();
    const secrets = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.config.redirectUrl,
      scope: this.config.scopes.join(' '),
      state: secrets.state,
      nonce: secrets.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(secrets.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url, secrets };
  }

  /**
   * Exchanges the callback's code and validates what comes back (state, `iss`, ID token signature,
   * issuer, audience, expiry, nonce); the claims, completed from userinfo when the provider has one.
   */
  async exchange(callbackQuery: Record<string, string>, secrets: AttemptSecrets): Promise<Claims> {
    const client = await import('openid-client');
    const configuration = await this.configuration();
    // The redirect_uri sent with the code must be the registered one, whatever host the callback reached.
    const callbackUrl = new URL(this.config.redirectUrl);
    for (const [name, value] of Object.entries(callbackQuery)) callbackUrl.searchParams.set(name, value);
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: secrets.codeVerifier,
        expectedState: secrets.state,
        expectedNonce: secrets.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      if (!configuration.serverMetadata().userinfo_endpoint) return { ...claims };
      const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
      return { ...userinfo, ...claims };
    } catch (error) {
      throw this.refusal(error);
    }
  }

  /** The provider's metadata (and, inside openid-client, its keys), discovered once an hour; a failed discovery is retried next time. */
  private async configuration(): Promise<Configuration> {
    if (!this.metadata || this.metadata.expiresAt < Date.now()) {
      const configuration = this.discover();
      this.metadata = { configuration, expiresAt: Date.now() + METADATA_TTL_MS };
      configuration.catch(() => {
        if (this.metadata?.configuration === configuration) this.metadata = undefined;
      });
    }
    return this.metadata.configuration;
  }

  private async discover(): Promise<Configuration> {
    const client = await import('openid-client');
    const { issuer, clientId, clientSecret } = this.config;
    try {
      return await client.discovery(
        new URL(issuer),
        clientId,
        undefined,
        clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
        {
          [client.customFetch]: outboundFetch(this.outbound, { timeoutMs: this.timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES }),
        },
      );
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Why the provider's answer does not sign anyone in: 502 when it could not be reached or read, else 401. */
  private refusal(error: unknown): Error {
    const named = error as { name?: string; error?: string; error_description?: string; status?: number; message?: string };
    if (isOutboundFailure(error) || (named.name === 'ResponseBodyError' && (named.status ?? 0) >= 500)) return unavailable(error);
    if (named.name === 'AuthorizationResponseError') {
      const reason = named.error_description ? `${named.error}: ${named.error_description}` : named.error;
      return new UnauthorizedError(`The identity provider did not sign you in (${reason}).`, 'OIDC_PROVIDER_ERROR');
    }
    // openid-client's own message is generic ("unexpected JWT claim value encountered"); its cause names the claim.
    const detail = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    const reason = named.name === 'ResponseBodyError' ? `${named.error} from its token endpoint` : `${named.message}${detail}`;
    return new UnauthorizedError(`The identity provider's answer failed validation: ${reason}.`, 'OIDC_RESPONSE_INVALID');
  }
}

/** True when the error, or one it wraps, is the outbound client failing to reach the provider. */
function isOutboundFailure(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (OUTBOUND_ERRORS.some((kind) => current instanceof kind)) return true;
  }
  return false;
}

function unavailable(error: unknown): BadGatewayError {
  let reason = error instanceof Error ? error.message : String(error);
  for (let current = error; current instanceof Error; current = current.cause) reason = current.message;
  return new BadGatewayError(`The identity provider could not be reached: ${reason}.`, 'OIDC_PROVIDER_UNAVAILABLE');
}
