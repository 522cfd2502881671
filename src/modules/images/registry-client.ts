import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { DestinationRefusedError, type ForwardedResponse, type OutboundHttp, UpstreamFailureError } from '../../outbound/outbound-http';

/** What the org presents to a registry: HTTP Basic (or at its token service), or a bearer token. */
export type RegistryAuth = { kind: 'basic'; username: string; password: string } | { kind: 'token'; token: string };

/** A scan cannot go on; the message is the scan's `reason`, for people (never a credential). */
export class ScanFailure extends Error {}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface ImageManifest {
  /** What the reference points to (an index's digest for a multi-platform image). */
  digest: string;
  /** The platform manifest read. */
  manifestDigest: string;
  platform: string;
  config: Descriptor;
  layers: Descriptor[];
}

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024;
const MAX_LAYERS = 1000;
const MAX_REDIRECTS = 3;
const PLATFORM = { os: 'linux', architecture: 'amd64' };
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
/** Docker Hub's names are not where its API answers. */
const API_HOST: Record<string, string> = { 'docker.io': 'registry-1.docker.io', 'index.docker.io': 'registry-1.docker.io' };

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const header = (answer: ForwardedResponse, name: string) => {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** `Bearer realm="…",service="…"` → its scheme and parameters. */
function challengeOf(value: string | undefined): { scheme: string; params: Record<string, string> } | null {
  const match = value && /^(\w+)\s*(.*)$/s.exec(value.trim());
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const param of match[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[param[1]!.toLowerCase()] = param[2]!;
  return { scheme: match[1]!.toLowerCase(), params };
}

function descriptorOf(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (!d || typeof d.digest !== 'string' || !DIGEST.test(d.digest)) {
    throw new ScanFailure(`the manifest's ${what} has no sha256 digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw new ScanFailure(`the manifest's ${what} has no valid size`);
  return { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size };
}

/** The most platforms a failure reason names; past it the reason counts the rest. */
const LISTED_PLATFORMS = 10;

/** "it has linux/arm64, linux/s390x", or for a wide index "it has 12000 platforms; first: a, b, … and 11990 more". */
function platformsOf(entries: Array<Record<string, unknown>>): string {
  if (entries.length === 0) return 'it has none';
  const names = entries.slice(0, LISTED_PLATFORMS).map((entry) => {
    const p = entry.platform as { os?: unknown; architecture?: unknown } | undefined;
    const part = (value: unknown) => (typeof value === 'string' ? value.slice(0, 32) : '?');
    return `${part(p?.os)}/${part(p?.architecture)}`;
  });
  if (entries.length <= LISTED_PLATFORMS) return `it has ${names.join(', ')}`;
  return `it has ${entries.length} platforms; first: ${names.join(', ')}, … and ${entries.length - LISTED_PLATFORMS} more`;
}

/**
 * An OCI Distribution API client for one registry and repository, calling only through the
 * outbound client (SSRF rules, pinned addresses; redirects followed by hand, each hop checked).
 * Anonymous first; a 401 with a `Bearer` challenge gets a token from the registry's token
 * service (with the org's credential when it has one), a `Basic` challenge the credential itself.
 * Every answer is bounded, and every manifest and blob is checked against its sha256 digest.
 */
export class RegistryClient {
  private authorization: string | undefined;
  private readonly base: string;

  constructor(
    private readonly outbound: Pick<OutboundHttp, 'destination' | 'forward'>,
    private readonly target: { registry: string; repository: string; insecure: boolean; auth: RegistryAuth | null },
    private readonly options: { timeoutMs: number; signal?: AbortSignal },
  ) {
    const host = API_HOST[target.registry] ?? target.registry;
    this.base = `${target.insecure ? 'http' : 'https'}://${host}/v2/${target.repository}`;
    if (target.auth?.kind === 'token') this.authorization = `Bearer ${target.auth.token}`;
  }

  /** The image manifest the reference (a tag or a digest) points to, through an index to linux/amd64. */
  async manifest(reference: string): Promise<ImageManifest> {
    const top = await this.manifestDocument(reference);
    let chosen = top;
    if (INDEX_TYPES.has(top.mediaType) || Array.isArray(top.json.manifests)) {
      const entries = Array.isArray(top.json.manifests) ? (top.json.manifests as Array<Record<string, unknown>>) : [];
      const match = entries.find((entry) => {
        const platform = entry.platform as { os?: string; architecture?: string } | undefined;
        return platform?.os === PLATFORM.os && platform?.architecture === PLATFORM.architecture;
      });
      if (!match) {
        throw new ScanFailure(`the image index has no linux/amd64 manifest (${platformsOf(entries)})`);
      }
      chosen = await this.manifestDocument(descriptorOf(match, 'index entry').digest);
      if (INDEX_TYPES.has(chosen.mediaType) || Array.isArray(chosen.json.manifests))
        throw new ScanFailure('an image index points to another index');
    }
    const { json } = chosen;
    if (json.schemaVersion !== 2) throw new ScanFailure(`the manifest has schemaVersion ${String(json.schemaVersion)}; only 2 is read`);
    if (!Array.isArray(json.layers)) throw new ScanFailure('the manifest has no layers array');
    if (json.layers.length > MAX_LAYERS) throw new ScanFailure(`the manifest has ${json.layers.length} layers, over ${MAX_LAYERS}`);
    return {
      digest: top.digest,
      manifestDigest: chosen.digest,
      platform: `${PLATFORM.os}/${PLATFORM.architecture}`,
      config: descriptorOf(json.config, 'config'),
      layers: json.layers.map((layer, index) => descriptorOf(layer, `layer ${index + 1}`)),
    };
  }

  private async manifestDocument(
    reference: string,
  ): Promise<{ digest: string; mediaType: string; json: Record<string, unknown> & { layers?: unknown[] } }> {
    const answer = await this.get(`${this.base}/manifests/${reference}`, ACCEPT, MAX_MANIFEST_BYTES);
    if (answer.status !== 200) answer.body.destroy();
    if (answer.status === 404) throw new ScanFailure(`the registry has no manifest '${reference}' in ${this.target.repository} (HTTP 404)`);
    if (answer.status !== 200) throw new ScanFailure(`the registry answered HTTP ${answer.status} for manifest '${reference}'`);
    const bytes = await this.read(answer.body, MAX_MANIFEST_BYTES, 'the manifest');
    const digest = sha256(bytes);
    const announced = header(answer, 'docker-content-digest');
    if (DIGEST.test(reference) && reference !== digest) throw new ScanFailure(`the manifest's sha256 is ${digest}, not ${reference}`);
    if (announced?.startsWith('sha256:') && announced !== digest) {
      throw new ScanFailure(`the manifest's sha256 is ${digest}, not the ${announced} the registry announced`);
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ScanFailure('the registry answered a manifest that is not JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ScanFailure('the manifest is not a JSON object');
    const record = json as Record<string, unknown>;
    const mediaType =
      typeof record.mediaType === 'string' ? record.mediaType : (header(answer, 'content-type') ?? '').split(';')[0]!.trim();
    return { digest, mediaType, json: record };
  }

  /** A small blob (the config), read whole and checked against its digest and size. */
  async blobBytes(descriptor: Descriptor, maxBytes: number, what: string): Promise<Buffer> {
    if (descriptor.size > maxBytes) throw new ScanFailure(`${what} is ${descriptor.size} bytes, over ${maxBytes}`);
    const bytes = await this.read(await this.blob(descriptor), maxBytes, what);
    if (sha256(bytes) !== descriptor.digest) throw new ScanFailure(`${what}'s sha256 is ${sha256(bytes)}, not ${descriptor.digest}`);
    if (bytes.length !== descriptor.size) throw new ScanFailure(`${what} is ${bytes.length} bytes, not the ${descriptor.size} declared`);
    return bytes;
  }

  /** A blob's body, streamed; the caller checks its digest as it reads. */
  async blob(descriptor: Descriptor): Promise<Readable> {
    const answer = await this.get(`${this.base}/blobs/${descriptor.digest}`, undefined, descriptor.size + 1);
    if (answer.status !== 200) {
      answer.body.destroy();
      throw new ScanFailure(`the registry answered HTTP ${answer.status} for blob ${descriptor.digest}`);
    }
    return answer.body;
  }

  private async read(body: Readable, maxBytes: number, what: string): Promise<Buffer> {
    try {
      return await buffer(body);
    } catch (error) {
      if (/exceeded/.test((error as Error).message)) throw new ScanFailure(`${what} is larger than ${maxBytes} bytes`);
      throw new ScanFailure(`${what} did not arrive in full: ${(error as Error).message}`);
    }
  }

  /** GET with the registry's auth dance and redirects (the credential goes only to the registry's own origin). */
  private async get(url: string, accept: string | undefined, maxBytes: number): Promise<ForwardedResponse> {
    const origin = new URL(url).origin;
    let target = url;
    let retried = false;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(target).origin === origin;
      const answer = await this.call(
        target,
        {
          ...(accept ? { accept } : {}),
          ...(sameOrigin && this.authorization ? { authorization: this.authorization } : {}),
        },
        maxBytes,
      );
      if (answer.status === 401 && sameOrigin && !retried) {
        answer.body.resume();
        retried = true;
        await this.authenticate(header(answer, 'www-authenticate'));
        hop--;
        continue;
      }
      if (answer.status === 401 || answer.status === 403) {
        answer.body.resume();
        throw new ScanFailure(
          `the registry refused access (HTTP ${answer.status}); ` +
            `${this.target.auth ? 'check' : 'add'} a registry credential for ${this.target.registry}`,
        );
      }
      if ([301, 302, 303, 307, 308].includes(answer.status)) {
        answer.body.resume();
        const location = header(answer, 'location');
        if (!location) throw new ScanFailure(`the registry answered HTTP ${answer.status} without a Location`);
        target = new URL(location, target).toString();
        continue;
      }
      return answer;
    }
    throw new ScanFailure(`the registry redirected more than ${MAX_REDIRECTS} times`);
  }

  private async authenticate(challengeHeader: string | undefined): Promise<void> {
    const challenge = challengeOf(challengeHeader);
    const auth = this.target.auth;
    if (challenge?.scheme === 'basic' && auth?.kind === 'basic') {
      this.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new ScanFailure(`the registry wants credentials (HTTP 401); add a registry credential for ${this.target.registry}`);
    }
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.target.repository}:pull`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth?.kind === 'basic') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (auth?.kind === 'token') headers.authorization = `Bearer ${auth.token}`;
    const answer = await this.call(realm.toString(), headers, MAX_TOKEN_BYTES);
    const bytes = await this.read(answer.body, MAX_TOKEN_BYTES, "the token service's answer");
    if (answer.status !== 200) {
      throw new ScanFailure(`the registry's token service refused ${auth ? 'the credential' : 'anonymous access'} (HTTP ${answer.status})`);
    }
    let token: unknown;
    try {
      const json = JSON.parse(bytes.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token))
      throw new ScanFailure("the registry's token service answered no token");
    this.authorization = `Bearer ${token}`;
  }

  private async call(url: string, headers: Record<string, string>, maxBytes: number): Promise<ForwardedResponse> {
    try {
      const destination = await this.outbound.destination(url);
      return await this.outbound.forward(destination, {
        method: 'GET',
        headers: { ...headers, 'user-agent': 'Warden' },
        timeoutMs: this.options.timeoutMs,
        maxResponseBytes: maxBytes,
        signal: this.options.signal,
      });
    } catch (error) {
      if (this.options.signal?.aborted) throw new ScanFailure('the scan took longer than IMAGE_SCAN_TIMEOUT_MS');
      const { host, hostname } = new URL(url);
      const message = (error as Error).message;
      const reason = message.includes(hostname) ? message : `${host}: ${message}`;
      throw new ScanFailure(`the registry could not be reached: ${reason}${remedyFor(error, url)}`);
    }
  }
}

/**
 * The setting that fixes a refusal a local or plain-http registry meets: a loopback or private
 * address needs OUTBOUND_ALLOWED_HOSTS (never suggested for a cloud metadata address), and a
 * TLS handshake answered in plain http (EPROTO) needs IMAGE_INSECURE_REGISTRIES.
 */
function remedyFor(error: unknown, url: string): string {
  const { host, protocol } = new URL(url);
  if (error instanceof DestinationRefusedError && / is an? [^(]*address\b/.test(error.message) && !/metadata/.test(error.message))
    return ' (allow it with OUTBOUND_ALLOWED_HOSTS)';
  if (error instanceof UpstreamFailureError && error.message === 'EPROTO' && protocol === 'https:')
    return ` (TLS handshake failed: ${host} speaks plain http? list it in IMAGE_INSECURE_REGISTRIES)`;
  return '';
}
