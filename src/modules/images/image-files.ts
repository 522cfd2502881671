import type { components } from '../../../generated/api';
import { ScanFailure } from './registry-client';
import type { TarEntry, TarVisitor } from './tar-reader';

type ImagePackage = components['schemas']['ImagePackage'];
type OsRelease = NonNullable<components['schemas']['ImageScanReport']['os']>;

const KiB = 1024;
const MiB = 1024 * KiB;
/** The files an inventory reads, and the most of each Warden keeps. */
const WANTED: Array<{ pattern: RegExp; max: number }> = [
  { pattern: /^(etc|usr\/lib)\/os-release$/, max: 64 * KiB },
  { pattern: /^var\/lib\/dpkg\/status$/, max: 64 * MiB },
  { pattern: /^var\/lib\/dpkg\/status\.d\/[^/]+$/, max: 1 * MiB },
  { pattern: /^lib\/apk\/db\/installed$/, max: 64 * MiB },
  { pattern: /(^|\/)node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/, max: 1 * MiB },
  { pattern: /(^|\/)[^/]+\.dist-info\/METADATA$/, max: 1 * MiB },
];
/** Kept file contents across all layers; past it a scan fails rather than hold more in memory. */
const MAX_KEPT_BYTES = 256 * MiB;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** What one layer changes: paths it deletes (whiteouts), directories it empties of lower layers (opaque), and what it adds. */
export class LayerChanges implements TarVisitor {
  readonly deleted = new Set<string>();
  readonly opaque = new Set<string>();
  /** Paths the layer puts a member at: kept content, or null for one it shadows lower files with but Warden does not keep. */
  readonly added = new Map<string, Buffer | null>();

  entry(entry: TarEntry): number {
    const slash = entry.path.lastIndexOf('/');
    const dir = slash < 0 ? '' : entry.path.slice(0, slash);
    const base = entry.path.slice(slash + 1);
    if (base === OPAQUE) {
      this.opaque.add(dir);
      return 0;
    }
    if (base.startsWith(WHITEOUT)) {
      this.deleted.add(dir ? `${dir}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length));
      return 0;
    }
    if (entry.type === 'directory') return 0;
    // Only paths the inventory reads are remembered (a layer may hold millions of others): a member
    // there hides what a lower layer had, even one Warden does not keep (a symlinked os-release).
    const max = WANTED.find((wanted) => wanted.pattern.test(entry.path))?.max;
    if (max === undefined) return 0;
    this.added.set(entry.path, null);
    if (entry.type !== 'file') return 0;
    // Skipping it would report a package database as empty: the scan fails instead.
    if (entry.size > max) throw new ScanFailure(`${entry.path.slice(0, 512)} is ${entry.size} bytes, over the ${max} a scan reads`);
    return max;
  }

  file(entry: TarEntry, content: Buffer): void {
    this.added.set(entry.path, content);
  }
}

/**
 * The image's file system as far as the inventory needs it: the kept files after every layer,
 * applied in order with the OCI whiteout rules (a `.wh.name` deletes name and all below it from
 * lower layers, `.wh..wh..opq` empties its directory of lower layers, and a member hides what a
 * lower layer had at its path).
 */
export class ImageFiles {
  private readonly files = new Map<string, Buffer>();
  private kept = 0;

  apply(layer: LayerChanges): void {
    const hidden = [...layer.deleted, ...layer.opaque];
    if (hidden.length > 0) {
      const roots = new Set(hidden);
      for (const path of [...this.files.keys()]) {
        if (roots.has('') || ancestors(path).some((ancestor) => roots.has(ancestor))) this.remove(path);
      }
    }
    for (const [path, content] of layer.added) {
      this.remove(path);
      if (content === null) continue;
      this.kept += content.length;
      if (this.kept > MAX_KEPT_BYTES) throw new ScanFailure(`the package databases and manifests exceed ${MAX_KEPT_BYTES} bytes`);
      this.files.set(path, content);
    }
  }

  private remove(path: string): void {
    const old = this.files.get(path);
    if (old === undefined) return;
    this.kept -= old.length;
    this.files.delete(path);
  }

  os(): OsRelease | null {
    const raw = this.files.get('etc/os-release') ?? this.files.get('usr/lib/os-release');
    if (!raw) return null;
    const fields: Record<string, string> = {};
    for (const line of raw.toString('utf8').split('\n')) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (match) fields[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2').slice(0, 128);
    }
    return { id: fields.ID ?? null, version_id: fields.VERSION_ID ?? null, pretty_name: fields.PRETTY_NAME ?? null };
  }

  packages(): ImagePackage[] {
    const found: ImagePackage[] = [];
    for (const [path, content] of [...this.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (path.startsWith('var/lib/dpkg/status')) found.push(...dpkgPackages(path, content));
      else if (path === 'lib/apk/db/installed') found.push(...apkPackages(path, content));
      else if (path.endsWith('/package.json')) found.push(...npmPackage(path, content));
      else if (path.endsWith('/METADATA')) found.push(...pythonPackage(path, content));
    }
    return found;
  }
}

function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

const clip = (text: string, max: number) => text.slice(0, max);

/** Stanzas of `Field: value` lines separated by blank lines (dpkg status, Python METADATA headers). */
function stanzas(text: string): Array<Record<string, string>> {
  return text.split(/\n\s*\n/).map((block) => {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const match = /^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$/.exec(line);
      if (match && fields[match[1]!] === undefined) fields[match[1]!] = match[2]!.trim();
    }
    return fields;
  });
}

function dpkgPackages(path: string, content: Buffer): ImagePackage[] {
  return stanzas(content.toString('utf8'))
    .filter((fields) => fields.Package && fields.Version && (fields.Status ?? 'install ok installed').endsWith(' installed'))
    .map((fields) => ({
      ecosystem: 'Debian' as const,
      name: clip(fields.Package!, 512),
      version: clip(fields.Version!, 256),
      source: fields.Source ? clip(fields.Source.split(/\s/)[0]!, 512) : null,
      path,
    }));
}

function apkPackages(path: string, content: Buffer): ImagePackage[] {
  return content
    .toString('utf8')
    .split(/\n\s*\n/)
    .map((block) => Object.fromEntries(block.split('\n').map((line) => [line.slice(0, 1), line.slice(2).trim()])))
    .filter((fields) => fields.P && fields.V)
    .map((fields) => ({
      ecosystem: 'Alpine' as const,
      name: clip(fields.P!, 512),
      version: clip(fields.V!, 256),
      source: fields.o ? clip(fields.o, 512) : null,
      path,
    }));
}

function npmPackage(path: string, content: Buffer): ImagePackage[] {
  try {
    const json = JSON.parse(content.toString('utf8')) as { name?: unknown; version?: unknown };
    if (typeof json.name !== 'string' || typeof json.version !== 'string' || !json.name || !json.version) return [];
    return [{ ecosystem: 'npm', name: clip(json.name, 512), version: clip(json.version, 256), source: null, path: clip(path, 4096) }];
  } catch {
    // A package.json that is not JSON names no package.
    return [];
  }
}

function pythonPackage(path: string, content: Buffer): ImagePackage[] {
  const [headers] = stanzas(content.toString('utf8'));
  if (!headers?.Name || !headers.Version) return [];
  return [{ ecosystem: 'PyPI', name: clip(headers.Name, 512), version: clip(headers.Version, 256), source: null, path: clip(path, 4096) }];
}
