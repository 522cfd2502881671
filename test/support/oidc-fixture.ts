import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The test CA: its certificate is also the provider's own (CN and SAN 127.0.0.1). */
export const TEST_CA = join(__dirname, '..', 'fixtures', 'tls', 'self-signed-cert.pem');
const TLS = { cert: readFileSync(TEST_CA), key: readFileSync(join(__dirname, '..', 'fixtures', 'tls', 'self-signed-key.pem')) };

export const CLIENT_ID = 'warden';
export const CLIENT_SECRET = 'warden-test-client-secret-0123456789';
/** Registered at the provider; the browser never reaches it (the test hands the callback's query to Warden). */
export const REDIRECT_URL = 'https://warden.test/api/v1/auth/oidc/callback';

/** A person the provider can sign in, and the claims it vouches for. */
export interface Account {
  email?: string;
  email_verified?: boolean | string;
  tenant?: string;
  groups?: string[];
  name?: string;
  given_name?: string;
  family_name?: string;
}

/** The parts of oidc-provider (ESM, untyped) the fixture uses. */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: unknown) => void;
  interactionDetails(req: IncomingMessage, res: unknown): Promise<{ uid: string; params: { client_id: string; scope: string } }>;
  interactionFinished(req: IncomingMessage, res: unknown, result: object, options: object): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
}

/** A real OpenID provider (oidc-provider) on https://127.0.0.1:<port>, with accounts the test defines. */
export interface TestProvider {
  issuer: string;
  accounts: Map<string, Account>;
  close(): Promise<void>;
}

export async function startOidcProvider(): Promise<TestProvider> {
  const accounts = new Map<string, Account>();
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer(TLS, (req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A non-literal specifier: the package is ESM without types, loaded at run time only.
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: new (issuer: string, config: object) => OidcProvider };
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URL],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...signingKey, kid: 'test-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['oidc-fixture-cookie-key'] },
    // Custom claims ride on the email scope; the provider puts scope claims in userinfo, not the ID token.
    claims: { openid: ['sub'], email: ['email', 'email_verified', 'tenant', 'groups'], profile: ['name', 'given_name', 'family_name'] },
    findAccount: async (_ctx: unknown, id: string) =>
      accounts.has(id) ? { accountId: id, claims: async () => ({ sub: id, ...accounts.get(id) }) } : undefined,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    // Explicit lifetimes, so the provider does not warn about its defaults on every sign-in.
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
  });
  const callback = provider.callback();
  handle = (req, res) => {
    const login = /^\/interaction\/([^/]+)\/login$/.exec(req.url ?? '');
    if (req.url?.startsWith('/interaction/') && !login) {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<form method="post" action="login"><input name="login"></form>');
      return;
    }
    if (!login) {
      callback(req, res);
      return;
    }
    // The login form's submission: the account named signs in and consents to what the client asked for.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const accountId = new URLSearchParams(Buffer.concat(chunks).toString()).get('login')!;
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
    });
  };
  return {
    issuer,
    accounts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A browser's part in the flow: real https requests to the provider, with its cookies kept, redirects followed by hand. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  /**
   * Follows redirects from `url` at the provider, signing in as `accountId` when the login page
   * comes, until the provider sends the browser back to Warden's callback; that URL.
   */
  async signIn(url: string, accountId: string): Promise<URL> {
    let next = new URL(url);
    for (let hop = 0; hop < 10; hop++) {
      if (next.href.startsWith(REDIRECT_URL)) return next;
      const login = next.pathname.startsWith('/interaction/');
      const answer = login
        ? await this.send('POST', new URL(`${next.pathname}/login`, next), `login=${encodeURIComponent(accountId)}`)
        : await this.send('GET', next);
      if (!answer.location) throw new Error(`the provider answered ${answer.status} at ${next.pathname}: ${answer.body}`);
      next = new URL(answer.location, next);
    }
    throw new Error('too many redirects');
  }

  private send(method: string, url: URL, form?: string): Promise<{ status: number; location?: string; body: string }> {
    const headers: Record<string, string> = { Cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    if (form !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, ca: TLS.cert }, (res) => {
        for (const cookie of res.headers['set-cookie'] ?? []) {
          const [pair] = cookie.split(';');
          const at = pair!.indexOf('=');
          this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
        }
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
      });
      req.on('error', reject);
      req.end(form);
    });
  }
}
