/** The ecosystems Warden inventories and matches advisories in (OSV's names). */
export type Ecosystem = 'Debian' | 'Alpine' | 'npm' | 'PyPI';

/** Negative, zero or positive as a sorts before, with or after b; null when either is not a version of the ecosystem. */
export type VersionCompare = (a: string, b: string) => number | null;

const isDigit = (c: string) => c >= '0' && c <= '9';

/** dpkg's order of one non-digit character: `~` before everything, then the end, letters, then the rest. */
function dpkgOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit runs (by dpkgOrder) and digit runs (numerically). */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const ac = dpkgOrder(a[i]);
      const bc = dpkgOrder(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && isDigit(a[i]!) && j < b.length && isDigit(b[j]!)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a[i]!)) return 1;
    if (j < b.length && isDigit(b[j]!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

const DPKG = /^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$/;

/** Debian: `[epoch:]upstream[-revision]`, epoch numerically, then upstream and revision by verrevcmp (`~` sorts first). */
export function compareDpkg(a: string, b: string): number | null {
  const x = DPKG.exec(a.trim());
  const y = DPKG.exec(b.trim());
  if (!x || !y) return null;
  const epoch = Number(x[1] ?? 0) - Number(y[1] ?? 0);
  if (epoch !== 0) return Math.sign(epoch);
  return Math.sign(verrevcmp(x[2]!, y[2]!) || verrevcmp(x[3] ?? '', y[3] ?? ''));
}

const APK = /^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:-r(\d+))?$/;
/** apk's suffix order: pre-releases before the release, `_p` (patch) after it. */
const APK_SUFFIX: Record<string, number> = { alpha: -4, beta: -3, pre: -2, rc: -1, cvs: 1, svn: 2, git: 3, hg: 4, p: 5 };

function compareLists(a: number[], b: number[], missing = 0): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const diff = (a[index] ?? missing) - (b[index] ?? missing);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** Alpine: `1.2.3[letter][_suffixN…][-rN]`: numbers, then the letter, then suffixes, then the package release. */
export function compareApk(a: string, b: string): number | null {
  const x = APK.exec(a.trim());
  const y = APK.exec(b.trim());
  if (!x || !y) return null;
  const numbers = compareLists(x[1]!.split('.').map(Number), y[1]!.split('.').map(Number), -1);
  if (numbers !== 0) return numbers;
  if (x[2] !== y[2]) return x[2]! < y[2]! ? -1 : 1;
  const suffixes = (raw: string) =>
    [...raw.matchAll(/_([a-z]+)(\d*)/g)].flatMap((match) => [APK_SUFFIX[match[1]!]!, Number(match[2] || 0)]);
  const suffix = compareLists(suffixes(x[3]!), suffixes(y[3]!));
  if (suffix !== 0) return suffix;
  return Math.sign(Number(x[4] ?? 0) - Number(y[4] ?? 0));
}

/** PEP 440 (public part): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, with the spellings it normalizes. */
const PEP440 = new RegExp(
  [
    '^v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)',
    '(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\\d*))?',
    '(?:(?:-(\\d+))|(?:[-_.]?(?:post|rev|r)[-_.]?(\\d*)))?',
    '(?:[-_.]?dev[-_.]?(\\d*))?',
    '(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$',
  ].join(''),
  'i',
);
const PRE: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

/** PyPI, PEP 440: epoch, release, then dev < pre-release < release < post-release (local labels ignored). */
export function comparePep440(a: string, b: string): number | null {
  const key = (raw: string): number[] | null => {
    const m = PEP440.exec(raw.trim());
    if (!m) return null;
    const release = m[2]!.split('.').map(Number);
    while (release.length > 1 && release.at(-1) === 0) release.pop();
    const hasPre = m[3] !== undefined;
    const hasPost = m[5] !== undefined || m[6] !== undefined;
    const hasDev = m[7] !== undefined;
    // Pre-release slot: a dev release of a final version sorts before its pre-releases.
    const pre = hasPre ? [PRE[m[3]!.toLowerCase()]!, Number(m[4] || 0)] : hasDev && !hasPost ? [-1, 0] : [3, 0];
    const post = hasPost ? [1, Number(m[5] ?? (m[6] || 0))] : [0, 0];
    const dev = hasDev ? [0, Number(m[7] || 0)] : [1, 0];
    return [Number(m[1] ?? 0), release.length, ...release, ...pre, ...post, ...dev];
  };
  const x = key(a);
  const y = key(b);
  if (!x || !y) return null;
  // Releases of different lengths compare element by element (1.0 == 1.0.0 after trailing zeros go).
  const [xe, xn] = [x[0]!, x[1]!];
  const [ye, yn] = [y[0]!, y[1]!];
  if (xe !== ye) return Math.sign(xe - ye);
  const release = compareLists(x.slice(2, 2 + xn), y.slice(2, 2 + yn));
  if (release !== 0) return release;
  return compareLists(x.slice(2 + xn), y.slice(2 + yn));
}

const SEMVER = /^[v=\s]*(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** npm: SemVer 2.0.0 precedence (a leading `v` or `=` allowed as npm does; build metadata ignored). */
export function compareSemver(a: string, b: string): number | null {
  const x = SEMVER.exec(a.trim());
  const y = SEMVER.exec(b.trim());
  if (!x || !y) return null;
  const core = compareLists(
    [1, 2, 3].map((i) => Number(x[i])),
    [1, 2, 3].map((i) => Number(y[i])),
  );
  if (core !== 0) return core;
  if (x[4] === undefined || y[4] === undefined) return x[4] === y[4] ? 0 : x[4] === undefined ? 1 : -1;
  const xs = x[4].split('.');
  const ys = y[4].split('.');
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    if (xs[i] === undefined) return -1;
    if (ys[i] === undefined) return 1;
    const [p, q] = [xs[i]!, ys[i]!];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

export const COMPARE: Record<Ecosystem, VersionCompare> = {
  Debian: compareDpkg,
  Alpine: compareApk,
  npm: compareSemver,
  PyPI: comparePep440,
};
