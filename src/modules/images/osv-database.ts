import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { components } from '../../../generated/api';
import { COMPARE, type Ecosystem } from './versions';

type ImagePackage = components['schemas']['ImagePackage'];
type Finding = components['schemas']['ImageFinding'];
type Severity = Finding['severity'];
type OsRelease = components['schemas']['ImageScanReport']['os'];

interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
}
interface OsvAffected {
  package?: { ecosystem?: string; name?: string };
  ranges?: Array<{ type?: string; events?: OsvEvent[] }>;
  versions?: string[];
  ecosystem_specific?: { severity?: unknown };
  database_specific?: { severity?: unknown };
}
interface OsvRecord {
  id: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  severity?: Array<{ type?: string; score?: string }>;
  affected?: OsvAffected[];
  database_specific?: { severity?: unknown };
}

/** One affected entry of a record, indexed under its ecosystem and package name. */
interface Candidate {
  record: OsvRecord;
  affected: OsvAffected;
  /** The distribution release the entry is for (`12` of `Debian:12`, `v3.19` of `Alpine:v3.19`), or null for all. */
  release: string | null;
}

export interface OsvIndex {
  records: number;
  /** Files that were not OSV JSON, skipped. */
  skipped: number;
  byPackage: Map<string, Candidate[]>;
}

const ECOSYSTEMS = new Set<Ecosystem>(['Debian', 'Alpine', 'npm', 'PyPI']);
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_RECORDS = 2_000_000;

/** PEP 503: PyPI names compare case-insensitively with runs of `-`, `_` and `.` equal. */
const pypiName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');
const keyOf = (ecosystem: Ecosystem, name: string) => `${ecosystem}\0${ecosystem === 'PyPI' ? pypiName(name) : name}`;

/**
 * The advisories in OSV_DATA_DIR: every `*.json` file under it (a record or an array of
 * records), read on first use and again only when the directory changes (its mtime), indexed by
 * ecosystem and package. Ecosystems other than Debian, Alpine, npm and PyPI are ignored.
 */
export class OsvDatabase {
  private cached: { mtimeMs: number; index: Promise<OsvIndex> } | undefined;

  constructor(private readonly dir: string | undefined) {}

  async index(): Promise<OsvIndex> {
    if (!this.dir) return { records: 0, skipped: 0, byPackage: new Map() };
    const mtimeMs = await stat(this.dir).then(
      (info) => info.mtimeMs,
      () => -1,
    );
    if (this.cached?.mtimeMs !== mtimeMs) {
      const index = load(this.dir);
      this.cached = { mtimeMs, index };
      index.catch(() => {
        if (this.cached?.index === index) this.cached = undefined;
      });
    }
    return this.cached.index;
  }
}

async function load(dir: string): Promise<OsvIndex> {
  const index: OsvIndex = { records: 0, skipped: 0, byPackage: new Map() };
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const name of names.filter((file) => file.endsWith('.json')).sort()) {
    const path = join(dir, name);
    let parsed: unknown;
    try {
      if ((await stat(path)).size > MAX_FILE_BYTES) throw new Error('too large');
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      index.skipped++;
      continue;
    }
    for (const record of Array.isArray(parsed) ? parsed : [parsed]) {
      if (!isRecord(record)) {
        index.skipped++;
        continue;
      }
      if (++index.records > MAX_RECORDS) throw new Error(`OSV_DATA_DIR holds more than ${MAX_RECORDS} records`);
      for (const affected of record.affected ?? []) {
        const [base, release] = (affected.package?.ecosystem ?? '').split(':', 2) as [string, string | undefined];
        const name = affected.package?.name;
        if (!ECOSYSTEMS.has(base as Ecosystem) || typeof name !== 'string') continue;
        const key = keyOf(base as Ecosystem, name);
        const list = index.byPackage.get(key) ?? [];
        list.push({ record, affected, release: release?.trim() || null });
        index.byPackage.set(key, list);
      }
    }
  }
  return index;
}

function isRecord(value: unknown): value is OsvRecord {
  const record = value as OsvRecord;
  return typeof value === 'object' && value !== null && typeof record.id === 'string' && Array.isArray(record.affected ?? []);
}

/** Whether `version` is in the entry: listed in `versions`, or inside an ECOSYSTEM/SEMVER range. */
function affects(ecosystem: Ecosystem, affected: OsvAffected, version: string): boolean {
  if (Array.isArray(affected.versions) && affected.versions.includes(version)) return true;
  const compare = COMPARE[ecosystem];
  for (const range of affected.ranges ?? []) {
    if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') continue;
    const events = (range.events ?? []).flatMap((event) => {
      const [kind, at] = Object.entries(event)[0] ?? [];
      return typeof at === 'string' && (kind === 'introduced' || kind === 'fixed' || kind === 'last_affected') ? [{ kind, at }] : [];
    });
    const order = (x: { at: string }, y: { at: string }) =>
      x.at === '0' ? (y.at === '0' ? 0 : -1) : y.at === '0' ? 1 : (compare(x.at, y.at) ?? 0);
    let vulnerable = false;
    for (const event of events.sort(order)) {
      const cmp = event.at === '0' ? 1 : compare(version, event.at);
      if (cmp === null) continue;
      if (event.kind === 'introduced' && cmp >= 0) vulnerable = true;
      else if (event.kind === 'fixed' && cmp >= 0) vulnerable = false;
      else if (event.kind === 'last_affected' && cmp > 0) vulnerable = false;
    }
    if (vulnerable) return true;
  }
  return false;
}

function fixedVersions(ecosystem: Ecosystem, affected: OsvAffected, version: string): string[] {
  const compare = COMPARE[ecosystem];
  const fixed = new Set<string>();
  for (const range of affected.ranges ?? []) {
    for (const event of range.events ?? []) {
      if (typeof event.fixed === 'string' && (compare(event.fixed, version) ?? 1) > 0) fixed.add(event.fixed);
    }
  }
  return [...fixed].sort((a, b) => compare(a, b) ?? 0);
}

const WORDS: Record<string, Severity> = { CRITICAL: 'critical', HIGH: 'high', MODERATE: 'medium', MEDIUM: 'medium', LOW: 'low' };

function severityOf(record: OsvRecord, affected: OsvAffected): Severity {
  for (const label of [record.database_specific?.severity, affected.database_specific?.severity, affected.ecosystem_specific?.severity]) {
    if (typeof label === 'string' && WORDS[label.toUpperCase()]) return WORDS[label.toUpperCase()]!;
  }
  for (const entry of record.severity ?? []) {
    const score = entry.type?.startsWith('CVSS_V3') ? cvss3BaseScore(entry.score ?? '') : Number.parseFloat(entry.score ?? '');
    if (score !== null && Number.isFinite(score)) {
      if (score >= 9) return 'critical';
      if (score >= 7) return 'high';
      if (score >= 4) return 'medium';
      if (score > 0) return 'low';
    }
  }
  return 'unknown';
}

const CVSS: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
};

/** The CVSS v3.x base score of a vector (`CVSS:3.1/AV:N/AC:L/…`), or null when it is not one. */
export function cvss3BaseScore(vector: string): number | null {
  const metrics = Object.fromEntries(vector.split('/').map((part) => part.split(':') as [string, string]));
  const changed = metrics.S === 'C';
  const pr = { N: 0.85, L: changed ? 0.68 : 0.62, H: changed ? 0.5 : 0.27 }[metrics.PR as 'N'];
  const [av, ac, ui] = [CVSS.AV![metrics.AV!], CVSS.AC![metrics.AC!], CVSS.UI![metrics.UI!]];
  const [c, i, a] = [CVSS.CIA![metrics.C!], CVSS.CIA![metrics.I!], CVSS.CIA![metrics.A!]];
  if ([pr, av, ac, ui, c, i, a].some((value) => value === undefined) || !['U', 'C'].includes(metrics.S!)) return null;
  const iss = 1 - (1 - c!) * (1 - i!) * (1 - a!);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  if (impact <= 0) return 0;
  const exploitability = 8.22 * av! * ac! * pr! * ui!;
  const raw = Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10);
  return Math.ceil(raw * 10 - 1e-9) / 10;
}

/** Whether a distribution entry (`Debian:12`, `Alpine:v3.19`) is for the image's release. */
function releaseMatches(ecosystem: Ecosystem, release: string | null, os: OsRelease): boolean {
  const osId = os?.id?.toLowerCase();
  if (ecosystem === 'Debian' && osId !== 'debian') return false;
  if (ecosystem === 'Alpine' && osId !== 'alpine') return false;
  if (release === null || (ecosystem !== 'Debian' && ecosystem !== 'Alpine')) return true;
  const version = os?.version_id ?? '';
  if (ecosystem === 'Debian') return version.split('.')[0] === release.split('.')[0];
  return `v${version.split('.').slice(0, 2).join('.')}` === release;
}

/** The findings for an inventory: one per advisory and installed package it affects. */
export function findingsFor(index: OsvIndex, packages: ImagePackage[], os: OsRelease): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const pkg of packages) {
    const ecosystem = pkg.ecosystem as Ecosystem;
    const names = [...new Set([pkg.source, pkg.name].filter((name): name is string => Boolean(name)))];
    for (const candidate of names.flatMap((name) => index.byPackage.get(keyOf(ecosystem, name)) ?? [])) {
      if (!releaseMatches(ecosystem, candidate.release, os) || !affects(ecosystem, candidate.affected, pkg.version)) continue;
      const key = `${candidate.record.id}\0${pkg.ecosystem}\0${pkg.name}\0${pkg.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push({
        advisory_id: candidate.record.id.slice(0, 256),
        aliases: (Array.isArray(candidate.record.aliases) ? candidate.record.aliases : [])
          .filter((alias) => typeof alias === 'string')
          .slice(0, 100)
          .map((alias) => alias.slice(0, 256)),
        summary: (candidate.record.summary ?? candidate.record.details ?? '').slice(0, 1000) || null,
        severity: severityOf(candidate.record, candidate.affected),
        ecosystem: pkg.ecosystem,
        package: pkg.name,
        installed_version: pkg.version,
        fixed_versions: fixedVersions(ecosystem, candidate.affected, pkg.version).slice(0, 100),
      });
    }
  }
  return findings;
}
