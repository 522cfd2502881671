/**
 * The parts of image scanning that need no registry: version order per ecosystem, OSV range
 * matching, CVSS scores, image references, the tar reader and the whiteout rules.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { ImageFiles, LayerChanges } from '../src/modules/images/image-files';
import { parseImageRef } from '../src/modules/images/image-ref';
import { capReason, MAX_REASON_CHARS } from '../src/modules/images/image-scan-store';
import { ImageScanner, RATIO_FLOOR_BYTES } from '../src/modules/images/image-scanner';
import { cvss3BaseScore, findingsFor, OsvDatabase } from '../src/modules/images/osv-database';
import type { RegistryAuth } from '../src/modules/images/registry-client';
import { type TarEntry, TarReader } from '../src/modules/images/tar-reader';
import { compareApk, compareDpkg, comparePep440, compareSemver, type VersionCompare } from '../src/modules/images/versions';
import { OutboundHttp } from '../src/outbound/outbound-http';
import { OciRegistryFixture, tar } from './support/oci-registry-fixture';

/** Each list is in ascending order; equal neighbours are written as [a, b]. */
function assertAscending(compare: VersionCompare, versions: Array<string | [string, string]>): void {
  const flat = versions.map((v) => (Array.isArray(v) ? v : [v]));
  for (let i = 0; i < flat.length; i++) {
    const [a, b] = flat[i]!;
    if (b !== undefined) assert.equal(compare(a!, b), 0, `${a} == ${b}`);
    for (let j = i + 1; j < flat.length; j++) {
      const x = flat[i]![0]!;
      const y = flat[j]![0]!;
      assert.equal(compare(x, y), -1, `${x} < ${y}`);
      assert.equal(compare(y, x), 1, `${y} > ${x}`);
    }
  }
}

describe('image scan units', () => {
  it('orders Debian versions as dpkg does: epoch first, ~ before everything, revisions', () => {
    assertAscending(compareDpkg, [
      '1.0~rc1',
      ['1.0', '1.0-0'],
      '1.0-1',
      '1.0-1+b1',
      '1.0a-1',
      '1.2',
      '1.10',
      '3.0.11-1~deb12u1',
      '3.0.11-1~deb12u2',
      '3.0.11-1',
      '1:0.1',
      '2:2023c-5',
    ]);
    assert.equal(compareDpkg('2.36-9+deb12u3', '2.36-9+deb12u4'), -1);
    assert.equal(compareDpkg('not a version!', '1.0'), null);
  });

  it('orders Alpine versions as apk does: numbers, letter, suffixes, then -rN', () => {
    assertAscending(compareApk, ['1.2.3_alpha1', '1.2.3_beta', '1.2.3_rc1', '1.2.3', '1.2.3-r1', '1.2.3_p1', '1.2.3a', '1.2.4', '1.10']);
    assert.equal(compareApk('1.36.1-r15', '1.36.1-r16'), -1);
    assert.equal(compareApk('1.3.1-r0', '1.2.12-r2'), 1);
  });

  it('orders PyPI versions by PEP 440: dev < pre < final < post, epochs, trailing zeros equal', () => {
    assertAscending(comparePep440, [
      '1.0.dev1',
      '1.0a1',
      '1.0a2.dev1',
      '1.0a2',
      '1.0b1',
      '1.0rc1',
      ['1.0', '1.0.0'],
      '1.0.post1',
      '1.1',
      '2.0',
      '1!0.1',
    ]);
    assert.equal(comparePep440('3.1.2', '3.1.3'), -1);
    assert.equal(comparePep440('2.31.0', '2.31'), 0);
  });

  it('orders npm versions by SemVer 2.0.0 precedence', () => {
    assertAscending(compareSemver, [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      ['1.0.0', 'v1.0.0+build.5'],
      '1.2.0',
      '1.10.0',
    ]);
    assert.equal(compareSemver('4.17.20', '4.17.21'), -1);
    assert.equal(compareSemver('latest', '1.0.0'), null);
  });

  it('matches OSV ranges: introduced/fixed/last_affected events, several ranges, releases, and says when nothing is loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osv-'));
    const range = (...events: object[]) => ({ type: 'ECOSYSTEM', events });
    writeFileSync(
      join(dir, 'records.json'),
      JSON.stringify([
        {
          id: 'TWO-RANGES',
          affected: [
            {
              package: { ecosystem: 'npm', name: 'p' },
              ranges: [range({ introduced: '1.0.0' }, { fixed: '1.2.0' }), range({ introduced: '2.0.0' }, { last_affected: '2.1.0' })],
            },
          ],
        },
        {
          id: 'BOOKWORM',
          affected: [{ package: { ecosystem: 'Debian:12', name: 'd' }, ranges: [range({ introduced: '0' }, { fixed: '2.0' })] }],
        },
        {
          id: 'BULLSEYE',
          affected: [{ package: { ecosystem: 'Debian:11', name: 'd' }, ranges: [range({ introduced: '0' }, { fixed: '3.0' })] }],
        },
        {
          id: 'PYPI',
          affected: [{ package: { ecosystem: 'PyPI', name: 'Foo_Bar' }, ranges: [range({ introduced: '0' }, { fixed: '1.0rc1' })] }],
        },
      ]),
    );
    const index = await new OsvDatabase(dir).index();
    assert.equal(index.records, 4);
    const ids = (
      ecosystem: 'npm' | 'Debian' | 'PyPI',
      name: string,
      version: string,
      os = { id: 'debian', version_id: '12', pretty_name: null },
    ) => findingsFor(index, [{ ecosystem, name, version, source: null, path: 'x' }], os).map((f) => `${f.advisory_id} ${f.fixed_versions}`);
    assert.deepEqual(ids('npm', 'p', '0.9.0'), []);
    assert.deepEqual(ids('npm', 'p', '1.1.9'), ['TWO-RANGES 1.2.0']);
    assert.deepEqual(ids('npm', 'p', '1.2.0'), []);
    assert.deepEqual(ids('npm', 'p', '2.1.0'), ['TWO-RANGES ']);
    assert.deepEqual(ids('npm', 'p', '2.1.1'), []);
    assert.deepEqual(ids('Debian', 'd', '1.5'), ['BOOKWORM 2.0']);
    assert.deepEqual(ids('Debian', 'd', '2.5'), []);
    assert.deepEqual(ids('Debian', 'd', '2.5', { id: 'debian', version_id: '11', pretty_name: null }), ['BULLSEYE 3.0']);
    assert.deepEqual(
      ids('Debian', 'd', '1.5', { id: 'ubuntu', version_id: '22.04', pretty_name: null }),
      [],
      'Debian advisories only for Debian',
    );
    assert.deepEqual(ids('PyPI', 'foo.bar', '1.0b2'), ['PYPI 1.0rc1']);
    assert.deepEqual(ids('PyPI', 'foo-bar', '1.0'), []);
    assert.equal((await new OsvDatabase(undefined).index()).records, 0);
  });

  it('scores CVSS v3 vectors', () => {
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H'), 5.5);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H'), 9.9);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N'), 0);
    assert.equal(cvss3BaseScore('garbage'), null);
  });

  it('parses image references as Docker does', () => {
    const ref = (raw: string) => parseImageRef(raw, 'registry-1.docker.io');
    assert.deepEqual(ref('my-org/my-agent:v1.0.0'), {
      ref: 'registry-1.docker.io/my-org/my-agent:v1.0.0',
      registry: 'registry-1.docker.io',
      repository: 'my-org/my-agent',
      tag: 'v1.0.0',
      digest: null,
    });
    assert.equal(ref('alpine').ref, 'registry-1.docker.io/library/alpine:latest');
    assert.equal(ref('localhost:5000/a/b').ref, 'localhost:5000/a/b:latest');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual([ref(`ghcr.io/o/i:1@${digest}`).ref, ref(`ghcr.io/o/i:1@${digest}`).tag], [`ghcr.io/o/i@${digest}`, '1']);
    // A port has one spelling: `05000` would be 5000 to a connection but another host to a comparison of names.
    const badPorts = ['localhost:05000/a/b', 'localhost:0/a/b', 'localhost:99999/a/b'];
    for (const bad of ['', 'UPPER/case', 'a//b', 'a/b:', 'a/b@sha256:zz', `${'a'.repeat(300)}/b`, 'a/b:-tag', ...badPorts]) {
      assert.throws(() => ref(bad), { code: 'IMAGE_REF_INVALID' }, bad);
    }
  });

  it('reads ustar, pax and GNU long names, symlinks, and keeps only what the visitor asks for', async () => {
    const long = `${'deep/'.repeat(30)}file.txt`;
    const archive = tar([
      { path: 'dir', type: 'directory' },
      { path: 'dir/short.txt', content: 'short' },
      { path: long, content: 'pax named', longName: 'pax' },
      { path: `gnu/${long}`, content: 'gnu named', longName: 'gnu' },
      { path: 'link', type: 'symlink', linkname: 'dir/short.txt' },
      { path: 'skipped.bin', content: Buffer.alloc(5000, 1) },
    ]);
    const seen: TarEntry[] = [];
    const kept: Record<string, string> = {};
    const reader = new TarReader({
      entry: (entry) => {
        seen.push(entry);
        return entry.path.endsWith('.txt') ? 1024 : 0;
      },
      file: (entry, content) => {
        kept[entry.path] = content.toString();
      },
    });
    // One byte at a time: headers and bodies split anywhere.
    await pipeline(Readable.from([...archive].map((byte) => Buffer.from([byte]))), reader);
    assert.deepEqual(
      seen.map((e) => `${e.type} ${e.path}`),
      ['directory dir', 'file dir/short.txt', `file ${long}`, `file gnu/${long}`, 'symlink link', 'file skipped.bin'],
    );
    assert.equal(seen[4]!.linkname, 'dir/short.txt');
    assert.deepEqual(kept, { 'dir/short.txt': 'short', [long]: 'pax named', [`gnu/${long}`]: 'gnu named' });
  });

  it('refuses a corrupt header and an archive cut inside a member', async () => {
    const archive = tar([{ path: 'a.txt', content: 'x'.repeat(2000) }]);
    const corrupt = Buffer.from(archive);
    corrupt[10] = 0x41;
    const visitor = { entry: () => 0, file: () => undefined };
    await assert.rejects(pipeline(Readable.from([corrupt]), new TarReader(visitor)), /not a tar archive/);
    await assert.rejects(pipeline(Readable.from([archive.subarray(0, 1000)]), new TarReader(visitor)), /ends in the middle of a member/);
  });

  it('applies layers with whiteouts, opaque directories and files replaced by symlinks', async () => {
    const files = new ImageFiles();
    const layer = async (archive: Buffer) => {
      const changes = new LayerChanges();
      await pipeline(Readable.from([archive]), new TarReader(changes));
      files.apply(changes);
    };
    const pkg = (name: string) => JSON.stringify({ name, version: '1.0.0' });
    await layer(
      tar([
        { path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="11"\n' },
        { path: 'usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
        { path: 'a/node_modules/kept/package.json', content: pkg('kept') },
        { path: 'a/node_modules/gone/package.json', content: pkg('gone') },
        { path: 'b/node_modules/emptied/package.json', content: pkg('emptied') },
      ]),
    );
    await layer(
      tar([
        { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
        { path: 'a/node_modules/.wh.gone', content: '' },
        { path: 'b/node_modules/.wh..wh..opq', content: '' },
        { path: 'b/node_modules/fresh/package.json', content: pkg('fresh') },
      ]),
    );
    assert.deepEqual(files.os(), { id: 'debian', version_id: '12', pretty_name: null });
    // A package file too large to read fails the scan rather than report its packages missing.
    await assert.rejects(
      layer(tar([{ path: 'c/node_modules/huge/package.json', content: 'x'.repeat(1024 * 1024 + 1) }])),
      /c\/node_modules\/huge\/package.json is 1048577 bytes, over the 1048576 a scan reads/,
    );
    assert.deepEqual(
      files.packages().map((p) => p.name),
      ['kept', 'fresh'],
    );
  });

  it('reads images with HTTP Basic and with a static bearer token, refuses wrong credentials, and bounds a scan in time', async () => {
    const outbound = new OutboundHttp({ allowedHosts: ['127.0.0.1'], timeoutMs: 1000, retryBaseMs: 10 });
    const scannerFor = (host: string, scanTimeoutMs = 10_000) =>
      new ImageScanner(outbound, { ...loadConfig({}).images, insecureRegistries: [host], scanTimeoutMs }, 1000, new OsvDatabase(undefined));
    const layer = tar([{ path: 'app/node_modules/x/package.json', content: JSON.stringify({ name: 'x', version: '1.0.0' }) }]);
    const cases: Array<['basic' | 'static-token', RegistryAuth, RegistryAuth]> = [
      ['basic', { kind: 'basic', username: 'u', password: 'p-basic' }, { kind: 'basic', username: 'u', password: 'wrong' }],
      ['static-token', { kind: 'token', token: 'p-token' }, { kind: 'token', token: 'wrong' }],
    ];
    for (const [scheme, good, bad] of cases) {
      const registry = await new OciRegistryFixture(
        { username: 'u', password: scheme === 'basic' ? 'p-basic' : 'p-token' },
        scheme,
      ).start();
      try {
        const pushed = registry.push('o/i', 'v1', [layer]);
        const scanner = scannerFor(registry.host);
        const report = await scanner.scan({ registry: registry.host, repository: 'o/i', reference: 'v1', auth: good });
        assert.deepEqual(
          [report.digest, report.packages.map((p) => p.name), report.verdict],
          [pushed.digest, ['x'], 'no_advisories_loaded'],
        );
        await assert.rejects(
          scanner.scan({ registry: registry.host, repository: 'o/i', reference: 'v1', auth: bad }),
          /refused (access|the credential) \(HTTP 401\)/,
        );
        await assert.rejects(scanner.scan({ registry: registry.host, repository: 'o/i', reference: 'v1', auth: null }), /HTTP 401/);
        // A registry that trickles a layer (never silent long enough for the call's timeout) meets the scan's own.
        registry.overrides.set(`/v2/o/i/blobs/${pushed.layerDigests[0]}`, (_req, res) => {
          const blob = registry.blobs.get(pushed.layerDigests[0]!)!;
          res.writeHead(200, { 'Content-Length': blob.length });
          let sent = 0;
          const timer = setInterval(() => res.write(blob.subarray(sent, ++sent)), 50);
          res.on('close', () => clearInterval(timer));
        });
        const slow = scannerFor(registry.host, 400);
        await assert.rejects(
          slow.scan({ registry: registry.host, repository: 'o/i', reference: 'v1', auth: good }),
          /took longer than IMAGE_SCAN_TIMEOUT_MS \(400 ms\)/,
        );
      } finally {
        await registry.close();
      }
    }
    outbound.close();
  });
  it('fails a gzip bomb layer on its compression ratio within the floor, long before the unpacked-bytes bound', async () => {
    const outbound = new OutboundHttp({ allowedHosts: ['127.0.0.1'], timeoutMs: 5000, retryBaseMs: 10 });
    const registry = await new OciRegistryFixture({ username: 'u', password: 'p' }, 'basic').start();
    try {
      // 64 MiB of zeros gzips to about 64 KiB: a ratio near 1000.
      const pushed = registry.push('o/bomb', 'v1', [tar([{ path: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) }])]);
      const compressed = registry.blobs.get(pushed.layerDigests[0]!)!.length;
      assert.ok(compressed < 200_000, `bomb layer is ${compressed} bytes`);
      const scannerWith = (maxCompressionRatio: number) =>
        new ImageScanner(
          outbound,
          { ...loadConfig({}).images, insecureRegistries: [registry.host], maxCompressionRatio },
          5000,
          new OsvDatabase(undefined),
        );
      const target = {
        registry: registry.host,
        repository: 'o/bomb',
        reference: 'v1',
        auth: { kind: 'basic', username: 'u', password: 'p' },
      } as const;
      const started = performance.now();
      const error = await scannerWith(100)
        .scan(target)
        .then(
          () => assert.fail('the bomb was scanned'),
          (failure: Error) => failure,
        );
      const elapsed = performance.now() - started;
      assert.match(
        error.message,
        /^layer 1 \(sha256:[a-f0-9]{64}\) unpacked \d+ bytes from \d+ compressed, more than IMAGE_SCAN_MAX_COMPRESSION_RATIO \(100\) times/,
      );
      const unpacked = Number(/unpacked (\d+) bytes/.exec(error.message)![1]);
      assert.ok(unpacked > RATIO_FLOOR_BYTES && unpacked < RATIO_FLOOR_BYTES + 1024 * 1024, `stopped after ${unpacked} bytes`);
      console.log(`bomb layer (${compressed} bytes → 64 MiB) failed after ${unpacked} bytes unpacked in ${elapsed.toFixed(0)} ms`);
      // The same layer under a ratio it keeps to is read in full: the ratio, not another bound, stopped it.
      const report = await scannerWith(5000).scan(target);
      assert.deepEqual([report.layer_count, report.packages], [1, []]);
    } finally {
      await registry.close();
      outbound.close();
    }
  });

  it('caps a failure reason at 1,000 characters with a count of what was left out', () => {
    assert.equal(capReason('short reason'), 'short reason');
    assert.equal(capReason('x'.repeat(MAX_REASON_CHARS)), 'x'.repeat(MAX_REASON_CHARS));
    const capped = capReason('y'.repeat(1_500_000));
    assert.ok(capped.length <= MAX_REASON_CHARS);
    assert.equal(capped, `${'y'.repeat(960)}… (1499040 more characters)`);
  });
});
