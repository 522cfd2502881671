import { createHash } from 'node:crypto';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { components } from '../../../generated/api';
import type { ImagesConfig } from '../../config/config';
import type { OutboundHttp } from '../../outbound/outbound-http';
import { ImageFiles, LayerChanges } from './image-files';
import { findingsFor, type OsvDatabase } from './osv-database';
import { type Descriptor, MAX_MANIFEST_BYTES, type RegistryAuth, RegistryClient, ScanFailure } from './registry-client';
import { TarFormatError, TarReader } from './tar-reader';

type Report = Omit<components['schemas']['ImageScanReport'], 'scan'>;
type Finding = components['schemas']['ImageFinding'];

export interface ScanTarget {
  registry: string;
  repository: string;
  /** What to read: the digest resolved when the scan was asked for, or the tag. */
  reference: string;
  auth: RegistryAuth | null;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
/** A layer is held to IMAGE_SCAN_MAX_COMPRESSION_RATIO once it has unpacked more than this (small layers compress as they like). */
export const RATIO_FLOOR_BYTES = 32 * 1024 * 1024;
/** The most packages (and so findings per severity) one report lists. */
const MAX_PACKAGES = 100_000;

/** A stream step that hashes and counts what passes, failing once `tooMuch` (given the count so far) names a reason. */
function meter(tooMuch: (bytes: number) => string | null) {
  const hash = createHash('sha256');
  let bytes = 0;
  const step = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      const reason = tooMuch(bytes);
      if (reason !== null) return done(new ScanFailure(reason));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  let digest: string | undefined;
  return { step, bytes: () => bytes, digest: () => (digest ??= `sha256:${hash.digest('hex')}`) };
}

/** How a layer's bytes unpack to a tar stream, from its media type. */
function unpackerFor(layer: Descriptor): Transform {
  const type = layer.mediaType;
  if (/zstd/.test(type)) throw new ScanFailure(`layer ${layer.digest} is zstd-compressed, which this Warden cannot unpack`);
  if (/gzip/.test(type)) return createGunzip();
  if (/tar$/.test(type) || type === '') return new PassThrough();
  throw new ScanFailure(`layer ${layer.digest} has media type '${type.slice(0, 100)}', which is not a tar layer`);
}

/**
 * One scan, start to end: the manifest (through an index to linux/amd64), the config, then each
 * layer streamed once through a sha256 check, gunzip and the tar reader, keeping only the files
 * the inventory reads; then the packages and the advisories that apply to them. Every bound
 * (layer and image size, unpacked bytes, the scan's time) ends the scan with a ScanFailure.
 */
export class ImageScanner {
  constructor(
    private readonly outbound: Pick<OutboundHttp, 'destination' | 'forward'>,
    private readonly config: ImagesConfig,
    private readonly timeoutMs: number,
    private readonly osv: OsvDatabase,
  ) {}

  client(target: Omit<ScanTarget, 'reference'>, signal?: AbortSignal): RegistryClient {
    const insecure = this.config.insecureRegistries.includes(target.registry);
    return new RegistryClient(this.outbound, { ...target, insecure }, { timeoutMs: this.timeoutMs, signal });
  }

  async scan(target: ScanTarget): Promise<Report> {
    const signal = AbortSignal.timeout(this.config.scanTimeoutMs);
    try {
      return await this.read(target, signal);
    } catch (error) {
      if (signal.aborted) throw new ScanFailure(`the scan took longer than IMAGE_SCAN_TIMEOUT_MS (${this.config.scanTimeoutMs} ms)`);
      throw error;
    }
  }

  private async read(target: ScanTarget, signal: AbortSignal): Promise<Report> {
    const { maxLayerBytes, maxTotalBytes, maxUnpackedBytes, maxCompressionRatio } = this.config;
    const client = this.client(target, signal);
    const manifest = await client.manifest(target.reference);
    for (const layer of manifest.layers) {
      if (layer.size > maxLayerBytes) {
        throw new ScanFailure(`layer ${layer.digest} is ${layer.size} bytes, over IMAGE_SCAN_MAX_LAYER_BYTES (${maxLayerBytes})`);
      }
    }
    const size = manifest.layers.reduce((sum, layer) => sum + layer.size, manifest.config.size);
    if (size > maxTotalBytes) throw new ScanFailure(`the image is ${size} bytes, over IMAGE_SCAN_MAX_TOTAL_BYTES (${maxTotalBytes})`);
    const config = parseConfig(await client.blobBytes(manifest.config, MAX_MANIFEST_BYTES, 'the image config'));
    const files = new ImageFiles();
    let unpacked = 0;
    for (const [index, layer] of manifest.layers.entries()) {
      const packed = meter((bytes) =>
        bytes > layer.size ? `layer ${layer.digest} is longer than the ${layer.size} bytes declared` : null,
      );
      // A gzip bomb fails here within RATIO_FLOOR_BYTES of unpacking, not after IMAGE_SCAN_MAX_UNPACKED_BYTES of it.
      const plain = meter((bytes) => {
        if (unpacked + bytes > maxUnpackedBytes)
          return `the layers unpack to more than IMAGE_SCAN_MAX_UNPACKED_BYTES (${maxUnpackedBytes})`;
        if (bytes <= RATIO_FLOOR_BYTES || bytes <= maxCompressionRatio * packed.bytes()) return null;
        return (
          `layer ${index + 1} (${layer.digest}) unpacked ${bytes} bytes from ${packed.bytes()} compressed, ` +
          `more than IMAGE_SCAN_MAX_COMPRESSION_RATIO (${maxCompressionRatio}) times as many: a decompression bomb`
        );
      });
      const changes = new LayerChanges();
      const body: Readable = await client.blob(layer);
      try {
        await pipeline(body, packed.step, unpackerFor(layer), plain.step, new TarReader(changes), { signal });
      } catch (error) {
        if (error instanceof ScanFailure || signal.aborted) throw error;
        const message = (error as Error).message;
        if (error instanceof TarFormatError) throw new ScanFailure(`layer ${index + 1} (${layer.digest}): ${message}`);
        if ((error as { code?: string }).code?.startsWith('Z_')) throw new ScanFailure(`layer ${index + 1} is not valid gzip (${message})`);
        throw new ScanFailure(`layer ${index + 1} (${layer.digest}) did not arrive in full: ${message}`);
      }
      if (packed.bytes() !== layer.size)
        throw new ScanFailure(`layer ${layer.digest} is ${packed.bytes()} bytes, not the ${layer.size} declared`);
      if (packed.digest() !== layer.digest) throw new ScanFailure(`layer ${index + 1}'s sha256 is ${packed.digest()}, not ${layer.digest}`);
      const diffId = config.diffIds[index];
      if (diffId && diffId !== plain.digest())
        throw new ScanFailure(`layer ${index + 1} unpacks to ${plain.digest()}, not the config's ${diffId}`);
      unpacked += plain.bytes();
      files.apply(changes);
    }
    const os = files.os();
    const packages = files.packages();
    if (packages.length > MAX_PACKAGES)
      throw new ScanFailure(`the image holds ${packages.length} packages, over the ${MAX_PACKAGES} a report lists`);
    const advisories = await this.osv.index();
    const findings = findingsFor(advisories, packages, os);
    const grouped = Object.fromEntries(SEVERITIES.map((severity) => [severity, [] as Finding[]])) as Report['findings'];
    for (const finding of findings.sort((a, b) => a.package.localeCompare(b.package) || a.advisory_id.localeCompare(b.advisory_id))) {
      if (grouped[finding.severity].length < MAX_PACKAGES) grouped[finding.severity].push(finding);
    }
    const counts = Object.fromEntries(
      SEVERITIES.map((severity) => [severity, findings.filter((f) => f.severity === severity).length]),
    ) as Report['counts'];
    counts.total = findings.length;
    return {
      digest: manifest.digest,
      manifest_digest: manifest.manifestDigest,
      platform: config.platform ?? manifest.platform,
      size_bytes: size,
      layer_count: manifest.layers.length,
      os,
      packages,
      advisories: { loaded: advisories.records > 0, records: advisories.records },
      verdict: advisories.records === 0 ? 'no_advisories_loaded' : findings.length > 0 ? 'vulnerable' : 'no_known_vulnerabilities',
      counts,
      findings: grouped,
    };
  }
}

function parseConfig(bytes: Buffer): { platform: string | null; diffIds: string[] } {
  let json: { os?: unknown; architecture?: unknown; rootfs?: { diff_ids?: unknown } };
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ScanFailure('the image config is not JSON');
  }
  if (typeof json !== 'object' || json === null) throw new ScanFailure('the image config is not a JSON object');
  const diffIds = Array.isArray(json.rootfs?.diff_ids) ? json.rootfs.diff_ids.filter((id): id is string => typeof id === 'string') : [];
  const platform = typeof json.os === 'string' && typeof json.architecture === 'string' ? `${json.os}/${json.architecture}` : null;
  return { platform: platform?.slice(0, 128) ?? null, diffIds };
}
