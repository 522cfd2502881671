import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** One member of a test tar: a file (content), a directory, or a symlink. */
export interface TarMember {
  path: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
  /** How a path over 100 bytes is written: a pax `path` record (default) or a GNU `L` long name. */
  longName?: 'pax' | 'gnu';
}

const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;

function headerBlock(name: string, size: number, typeflag: string, linkname = '', gnu = false): Buffer {
  const block = Buffer.alloc(512);
  block.write(name.slice(0, 100), 0, 'utf8');
  block.write(octal(0o644, 8), 100, 'latin1');
  block.write(octal(0, 8), 108, 'latin1');
  block.write(octal(0, 8), 116, 'latin1');
  block.write(octal(size, 12), 124, 'latin1');
  block.write(octal(0, 12), 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(typeflag, 156, 'latin1');
  block.write(linkname.slice(0, 100), 157, 'utf8');
  block.write(gnu ? 'ustar  \0' : 'ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** A tar archive (ustar, with pax or GNU long names), written by hand: what an image layer holds. */
export function tar(members: TarMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const member of members) {
    const type = member.type ?? 'file';
    const content = type === 'file' ? Buffer.from(member.content ?? '') : Buffer.alloc(0);
    const name = type === 'directory' && !member.path.endsWith('/') ? `${member.path}/` : member.path;
    if (Buffer.byteLength(name) > 100) {
      if (member.longName === 'gnu') {
        const long = Buffer.from(`${name}\0`);
        parts.push(headerBlock('././@LongLink', long.length, 'L', '', true), padded(long));
      } else {
        const pax = Buffer.from(paxRecord('path', name));
        parts.push(headerBlock('PaxHeader', pax.length, 'x'), padded(pax));
      }
    }
    const typeflag = type === 'directory' ? '5' : type === 'symlink' ? '2' : '0';
    parts.push(headerBlock(name, content.length, typeflag, member.linkname ?? '', member.longName === 'gnu'), padded(content));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface PushOptions {
  /** Layers are gzipped unless false. */
  gzip?: boolean;
  /** Serve an image index with linux/arm64 and linux/amd64 entries instead of a plain manifest. */
  index?: boolean;
  /** Layer sizes the manifest declares instead of the real ones (by layer position). */
  declaredSizes?: Record<number, number>;
}

export interface PushedImage {
  digest: string;
  manifestDigest: string;
  layerDigests: string[];
}

/** How the registry answers one request instead of its usual answer (garbage, stalls). */
export type Override = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A Distribution-API registry on 127.0.0.1 (GET /v2/<name>/manifests/<ref>, /v2/<name>/blobs/<digest>)
 * with Docker's token auth: every /v2 request without a token it issued gets 401 with a Bearer
 * challenge; /token hands out a token to HTTP Basic with the configured user and password.
 */
export class OciRegistryFixture {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { type: string; body: Buffer }>();
  readonly requests: Array<{ method: string; path: string; authorization?: string }> = [];
  readonly overrides = new Map<string, Override>();
  private readonly tokens = new Set<string>();
  private server = createServer((req, res) => this.handle(req, res));
  host = '';

  /**
   * `bearer`: Docker's token flow (401 with a Bearer challenge, tokens from /token for HTTP Basic);
   * `basic`: HTTP Basic on every request; `static-token`: one long-lived token, sent as Bearer;
   * `anonymous`: no auth at all (scripts/sample-registry.ts).
   */
  constructor(
    readonly credentials: { username: string; password: string },
    readonly scheme: 'bearer' | 'basic' | 'static-token' | 'anonymous' = 'bearer',
  ) {
    if (scheme === 'static-token') this.tokens.add(credentials.password);
  }

  /** Listens on `hostname` (a loopback name or address) and `port` (0: a free one). */
  async start(port = 0, hostname = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(port, hostname, resolve));
    this.host = `${hostname}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  push(repository: string, tag: string, layers: Buffer[], options: PushOptions = {}): PushedImage {
    const blobs = layers.map((layer) => (options.gzip === false ? layer : gzipSync(layer)));
    for (const blob of blobs) this.blobs.set(sha256(blob), blob);
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha256) }, config: {} }),
    );
    this.blobs.set(sha256(config), config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: blobs.map((blob, index) => ({
          mediaType: options.gzip === false ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(blob),
          size: options.declaredSizes?.[index] ?? blob.length,
        })),
      }),
    );
    const manifestDigest = sha256(manifest);
    this.manifests.set(`${repository}@${manifestDigest}`, { type: OCI_MANIFEST, body: manifest });
    let digest = manifestDigest;
    let top = { type: OCI_MANIFEST, body: manifest };
    if (options.index) {
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            { mediaType: OCI_MANIFEST, digest: sha256(Buffer.from('arm')), size: 3, platform: { os: 'linux', architecture: 'arm64' } },
            { mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          ],
        }),
      );
      digest = sha256(index);
      top = { type: OCI_INDEX, body: index };
      this.manifests.set(`${repository}@${digest}`, top);
    }
    this.manifests.set(`${repository}:${tag}`, top);
    return { digest, manifestDigest, layerDigests: blobs.map(sha256) };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    this.requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization });
    if (url.pathname.startsWith('/storage/')) {
      // Blob storage a registry redirects to (S3-style): no registry auth here.
      const stored = this.blobs.get(url.pathname.slice('/storage/'.length));
      res.writeHead(stored ? 200 : 404, { 'Content-Type': 'application/octet-stream' });
      res.end(stored ?? '');
      return;
    }
    if (url.pathname === '/token') {
      this.token(req, res, url);
      return;
    }
    const override = [...this.overrides].find(([prefix]) => url.pathname.startsWith(prefix))?.[1];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const basic = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (this.scheme === 'basic' && url.pathname.startsWith('/v2/') && req.headers.authorization !== basic) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="fixture-registry"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const tokenScheme = this.scheme === 'bearer' || this.scheme === 'static-token';
    if (tokenScheme && url.pathname.startsWith('/v2/') && !(bearer && this.tokens.has(bearer))) {
      const repository = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': `Bearer realm="http://${this.host}/token",service="fixture-registry",scope="repository:${repository}:pull"`,
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (override) {
      override(req, res);
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (manifest) {
      const [, repository, reference] = manifest;
      const found = this.manifests.get(`${repository}${reference!.startsWith('sha256:') ? '@' : ':'}${reference}`);
      if (!found) {
        this.notFound(res, 'MANIFEST_UNKNOWN');
        return;
      }
      res.writeHead(200, { 'Content-Type': found.type, 'Docker-Content-Digest': sha256(found.body), 'Content-Length': found.body.length });
      res.end(found.body);
      return;
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const data = blob && this.blobs.get(blob[2]!);
    if (!data) {
      this.notFound(res, 'BLOB_UNKNOWN');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
    res.end(data);
  }

  private token(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const expected = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected || url.searchParams.get('service') !== 'fixture-registry') {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const token = randomBytes(16).toString('hex');
    this.tokens.add(token);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300 }));
  }

  private notFound(res: ServerResponse, code: string): void {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message: 'not found' }] }));
  }
}
