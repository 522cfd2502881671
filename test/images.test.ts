import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/config';
import { INTERRUPTED } from '../src/modules/images';
import { assertNoSecretAtRest, createOrg, type TestOrg, theAuditEventOf } from './support/identity';
import { OciRegistryFixture, sha256, tar } from './support/oci-registry-fixture';
import { startTestApp, type TestApp } from './support/test-app';

const OSV_DIR = join(__dirname, 'fixtures', 'osv');
const PASSWORD = 'fixture-registry-password-Qz9x';
const MiB = 1024 * 1024;

const DPKG_STATUS = `Package: openssl
Status: install ok installed
Priority: optional
Version: 3.0.11-1~deb12u1

Package: libc6
Status: install ok installed
Source: glibc
Version: 2.36-9+deb12u4

Package: tzdata
Status: install ok installed
Version: 2:2023c-5

Package: removed-pkg
Status: deinstall ok config-files
Version: 1.0-1
`;

const APK_INSTALLED = `C:Q1abc=
P:busybox
V:1.36.1-r15
o:busybox

P:ssl_client
V:1.36.1-r15
o:busybox

P:zlib
V:1.3.1-r0
o:zlib
`;

const pkg = (name: string, version: string) => JSON.stringify({ name, version, description: 'test' });
const metadata = (name: string, version: string) => `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n\nA long description.\n`;
const DEEP = `app/${'very-long-directory-name/'.repeat(4)}node_modules`;

/** A Debian image: dpkg in the first layer, npm and Python packages in the second, deletions in the third. */
function debianLayers(): Buffer[] {
  return [
    tar([
      { path: 'etc', type: 'directory' },
      { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { path: 'usr/lib/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' },
      { path: 'var/lib/dpkg/status', content: DPKG_STATUS },
      { path: 'usr/bin/bash', content: randomBytes(3000) },
    ]),
    tar([
      { path: 'app/node_modules/lodash/package.json', content: pkg('lodash', '4.17.20') },
      { path: 'app/node_modules/lodash/lib/package.json', content: pkg('not-a-package', '0.0.1') },
      { path: 'app/node_modules/minimist/package.json', content: pkg('minimist', '1.2.8') },
      { path: 'app/node_modules/evil-pkg/package.json', content: pkg('evil-pkg', '1.0.0') },
      { path: `${DEEP}/@scope/left-pad/package.json`, content: pkg('@scope/left-pad', '1.3.0'), longName: 'pax' },
      { path: `${DEEP}/gnu-named/package.json`, content: pkg('gnu-named', '2.0.0'), longName: 'gnu' },
      { path: 'usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA', content: metadata('Jinja2', '3.1.2') },
      { path: 'usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA', content: metadata('requests', '2.31.0') },
      { path: 'usr/local/lib/python3.11/site-packages/oldpkg-1.0.dist-info/METADATA', content: metadata('oldpkg', '1.0') },
    ]),
    tar([
      { path: 'app/node_modules/.wh.evil-pkg', content: '' },
      { path: 'usr/local/lib/python3.11/site-packages/.wh..wh..opq', content: '' },
    ]),
  ];
}

function alpineLayers(): Buffer[] {
  return [
    tar([
      { path: 'etc/os-release', content: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' },
      { path: 'lib/apk/db/installed', content: APK_INSTALLED },
    ]),
  ];
}

describe('container image scans: OCI registry, inventory, OSV advisories (issue 16, seed 000)', () => {
  let warden: TestApp;
  let registry: OciRegistryFixture;
  let org: TestOrg;
  const key = () => ({ 'X-API-Key': org.key });
  const path = (ref: string) => encodeURIComponent(ref);

  /** Polls the scan's status resource until it has finished. */
  async function finished(id: string, as: TestOrg = org): Promise<Record<string, unknown>> {
    for (let i = 0; i < 200; i++) {
      const { body } = await warden.request.get(`/api/v1/image-scans/${id}`).set('X-API-Key', as.key).expect(200);
      if (body.status === 'succeeded' || body.status === 'failed') return body;
      await sleep(50);
    }
    throw new Error(`scan ${id} did not finish`);
  }

  before(async () => {
    registry = await new OciRegistryFixture({ username: 'ci-bot', password: PASSWORD }).start();
    const defaults = loadConfig({});
    warden = await startTestApp({
      config: {
        encryptionKey: randomBytes(32),
        rateLimits: { image_scan: { perIp: { limit: 1000, windowSeconds: 3600 }, perOrg: { limit: 40, windowSeconds: 3600 } } },
        outbound: { allowedHosts: ['127.0.0.1'], timeoutMs: 1500, retryBaseMs: 10, caFile: undefined },
        images: {
          ...defaults.images,
          osvDataDir: OSV_DIR,
          defaultRegistry: registry.host,
          insecureRegistries: [registry.host],
          maxLayerBytes: 1 * MiB,
          maxTotalBytes: 16 * MiB,
          maxUnpackedBytes: 24 * MiB,
          scanTimeoutMs: 10_000,
        },
      },
    });
    org = await createOrg(warden, 'starter');
  });
  after(async () => {
    await warden?.services.images.settled();
    await warden?.close();
    await registry?.close();
  });

  it('refuses an anonymous read the registry wants credentials for: the scan fails at once, with the reason', async () => {
    registry.push('my-org/private', 'v1', debianLayers());
    const res = await warden.request
      .post(`/api/v1/images/${path('my-org/private:v1')}/scan`)
      .set(key())
      .expect(202);
    assert.equal(res.body.status, 'failed');
    assert.equal(res.body.digest, null);
    assert.match(res.body.reason, /token service refused anonymous access \(HTTP 401\)/);
    const event = await theAuditEventOf(warden, res);
    assert.deepEqual([event.action, event.outcome, event.resource_id], ['image.scan_requested', 'failure', res.body.id]);
  });

  it('names the setting that fixes a loopback registry (OUTBOUND_ALLOWED_HOSTS) or a plain-http one (IMAGE_INSECURE_REGISTRIES)', async () => {
    const local = await createOrg(warden, 'starter', 'Local registry org');
    // localhost is not allow-listed (only 127.0.0.1 is): the address policy refuses it before anything is sent.
    const port = registry.host.split(':')[1];
    const refused = await warden.request
      .post(`/api/v1/images/${path(`localhost:${port}/my-org/private:v1`)}/scan`)
      .set('X-API-Key', local.key)
      .expect(202);
    assert.equal(refused.body.status, 'failed');
    assert.match(
      refused.body.reason,
      /^the registry could not be reached: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address \([^)]*\) \(allow it with OUTBOUND_ALLOWED_HOSTS\)$/,
    );
    // Allow-listed but not insecure: Warden speaks TLS to a registry that answers in plain http.
    const plain = await new OciRegistryFixture({ username: 'ci-bot', password: PASSWORD }).start();
    try {
      const res = await warden.request
        .post(`/api/v1/images/${path(`${plain.host}/my-org/private:v1`)}/scan`)
        .set('X-API-Key', local.key)
        .expect(202);
      assert.equal(res.body.status, 'failed');
      assert.equal(
        res.body.reason,
        `the registry could not be reached: ${plain.host}: EPROTO ` +
          `(TLS handshake failed: ${plain.host} speaks plain http? list it in IMAGE_INSECURE_REGISTRIES)`,
      );
      assert.equal(plain.requests.length, 0, 'no HTTP request reached the plain registry');
    } finally {
      await plain.close();
    }
  });

  it('stores a registry credential encrypted, never returned, logged or audited; one per registry host', async () => {
    const res = await warden.request
      .post('/api/v1/image-registry-credentials')
      .set(key())
      .send({ registry: registry.host, username: 'ci-bot', password: PASSWORD })
      .expect(201);
    assert.match(res.body.id, /^rcred_/);
    assert.deepEqual(
      [res.body.registry, res.body.kind, res.body.username, res.body.secret_last_four],
      [registry.host, 'basic', 'ci-bot', 'Qz9x'],
    );
    assert.ok(!JSON.stringify(res.body).includes(PASSWORD));
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'image.registry_credential_created');
    assert.ok(!JSON.stringify(event).includes(PASSWORD));
    const again = await warden.request
      .post('/api/v1/image-registry-credentials')
      .set(key())
      .send({ registry: registry.host, token: 'another-token-0123456789' })
      .expect(409);
    assert.equal(again.body.code, 'REGISTRY_CREDENTIAL_EXISTS');
    const { body } = await warden.request.get('/api/v1/image-registry-credentials').set(key()).expect(200);
    assert.deepEqual(
      body.registry_credentials.map((c: { id: string }) => c.id),
      [res.body.id],
    );
    await assertNoSecretAtRest(warden, [PASSWORD]);
  });

  it('refuses a credential that is neither user and password nor token (422), and a malformed host', async () => {
    for (const bad of [
      { registry: 'r.example.com', username: 'u' },
      { registry: 'r.example.com', password: 'p' },
      { registry: 'r.example.com', username: 'u', password: 'p', token: 't' },
      { registry: 'r.example.com' },
    ]) {
      const res = await warden.request.post('/api/v1/image-registry-credentials').set(key()).send(bad).expect(422);
      assert.equal(res.body.code, 'REGISTRY_CREDENTIAL_INVALID');
    }
    await warden.request
      .post('/api/v1/image-registry-credentials')
      .set(key())
      .send({ registry: 'https://r.example.com/', token: 't' })
      .expect(422);
    const rows = await warden.database.dataSource.query(
      `SELECT count(*)::int AS n FROM image_registry_credentials WHERE registry = 'r.example.com'`,
    );
    assert.equal(rows[0].n, 0);
  });

  it('scans a Debian image end to end: dpkg, npm and PyPI findings with fixed versions; whiteouts honoured; fixed ones absent', async () => {
    const pushed = registry.push('my-org/my-agent', 'v1.0.0', debianLayers());
    // The seed's form: the slash percent-encoded in one path segment, the colon as is.
    const res = await warden.request.post('/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan').set(key()).expect(202);
    assert.equal(res.headers.location, `/api/v1/image-scans/${res.body.id}`);
    assert.deepEqual(
      [res.body.ref, res.body.repository, res.body.tag, res.body.digest],
      [`${registry.host}/my-org/my-agent:v1.0.0`, 'my-org/my-agent', 'v1.0.0', pushed.digest],
    );
    assert.ok(['queued', 'running'].includes(res.body.status));
    const requested = await theAuditEventOf(warden, res);
    assert.deepEqual([requested.action, requested.outcome, requested.details.digest], ['image.scan_requested', 'success', pushed.digest]);
    const scan = await finished(res.body.id);
    assert.equal(scan.status, 'succeeded', String(scan.reason));
    const report = (await warden.request.get('/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan-report').set(key()).expect(200)).body;
    assert.equal(report.scan.id, res.body.id);
    assert.deepEqual(
      [report.digest, report.manifest_digest, report.platform, report.layer_count],
      [pushed.digest, pushed.digest, 'linux/amd64', 3],
    );
    assert.ok(report.size_bytes > 0);
    assert.deepEqual(report.os, { id: 'debian', version_id: '12', pretty_name: 'Debian GNU/Linux 12 (bookworm)' });
    const inventory = report.packages.map(
      (p: { ecosystem: string; name: string; version: string }) => `${p.ecosystem}:${p.name}@${p.version}`,
    );
    assert.deepEqual(inventory.sort(), [
      'Debian:libc6@2.36-9+deb12u4',
      'Debian:openssl@3.0.11-1~deb12u1',
      'Debian:tzdata@2:2023c-5',
      'PyPI:Jinja2@3.1.2',
      'PyPI:requests@2.31.0',
      'npm:@scope/left-pad@1.3.0',
      'npm:gnu-named@2.0.0',
      'npm:lodash@4.17.20',
      'npm:minimist@1.2.8',
    ]);
    assert.deepEqual(report.advisories.loaded, true);
    assert.equal(report.verdict, 'vulnerable');
    const brief = (f: { advisory_id: string; package: string; installed_version: string; fixed_versions: string[] }) =>
      `${f.advisory_id} ${f.package}@${f.installed_version} → ${f.fixed_versions.join(',') || 'none'}`;
    assert.deepEqual(report.findings.critical.map(brief), ['GHSA-h5c8-rqwp-cp95 Jinja2@3.1.2 → 3.1.3']);
    assert.deepEqual(report.findings.high.map(brief), [
      'GHSA-35jh-r3h4-6jhm lodash@4.17.20 → 4.17.21',
      'DSA-5532-1 openssl@3.0.11-1~deb12u1 → 3.0.11-1~deb12u2',
    ]);
    assert.deepEqual(report.findings.medium, []);
    assert.deepEqual(report.findings.low, []);
    assert.deepEqual(report.findings.unknown.map(brief), ['GHSA-left-pad @scope/left-pad@1.3.0 → none']);
    assert.deepEqual(report.counts, { critical: 1, high: 2, medium: 0, low: 0, unknown: 1, total: 4 });
    const lodash = report.findings.high[0];
    assert.deepEqual([lodash.ecosystem, lodash.aliases, lodash.summary], ['npm', ['CVE-2021-23337'], 'Command Injection in lodash']);
    // Tokens came from the token service with the stored credential, and every registry call carried one.
    assert.ok(registry.requests.some((r) => r.path === '/token'));
    const list = (await warden.request.get('/api/v1/images').set(key()).expect(200)).body;
    const image = list.images.find((i: { ref: string }) => i.ref === res.body.ref);
    assert.deepEqual([image.digest, image.latest_scan_id, image.latest_scan_status], [pushed.digest, res.body.id, 'succeeded']);
  });

  it('scans an Alpine image behind an image index (linux/amd64 picked): apk findings by origin, fixed ones absent', async () => {
    const pushed = registry.push('my-org/alpine-agent', '3.19', alpineLayers(), { index: true });
    const ref = `${registry.host}/my-org/alpine-agent:3.19`;
    const res = await warden.request
      .post(`/api/v1/images/${path(ref)}/scan`)
      .set(key())
      .expect(202);
    assert.equal(res.body.digest, pushed.digest);
    assert.equal((await finished(res.body.id)).status, 'succeeded');
    const report = await reportOf(ref);
    assert.deepEqual([report.digest, report.manifest_digest], [pushed.digest, pushed.manifestDigest]);
    assert.equal(report.os.id, 'alpine');
    const brief = (f: { package: string; severity: string; fixed_versions: string[] }) =>
      `${f.severity} ${f.package} → ${f.fixed_versions}`;
    // CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H scores 5.5: medium.
    assert.deepEqual(report.findings.medium.map(brief), ['medium busybox → 1.36.1-r16', 'medium ssl_client → 1.36.1-r16']);
    assert.equal(report.counts.total, 2);
    assert.ok(report.packages.some((p: { name: string }) => p.name === 'zlib'));
    // The same image by digest finds the same report key only under its digest reference.
    const byDigest = `${registry.host}/my-org/alpine-agent@${pushed.digest}`;
    const missing = await warden.request
      .get(`/api/v1/images/${path(byDigest)}/scan-report`)
      .set(key())
      .expect(404);
    assert.equal(missing.body.code, 'IMAGE_SCAN_REPORT_NOT_FOUND');
  });

  it('follows a blob redirect to storage elsewhere without sending the registry credential there', async () => {
    const storage = await new OciRegistryFixture({ username: 'nobody', password: 'unused' }).start();
    try {
      const pushed = registry.push('my-org/redirected', 'v1', debianLayers());
      for (const digest of pushed.layerDigests) {
        storage.blobs.set(digest, registry.blobs.get(digest)!);
        registry.overrides.set(`/v2/my-org/redirected/blobs/${digest}`, (_req, res) => {
          res.writeHead(307, { Location: `http://${storage.host}/storage/${digest}` });
          res.end();
        });
      }
      const res = await warden.request
        .post(`/api/v1/images/${path('my-org/redirected:v1')}/scan`)
        .set(key())
        .expect(202);
      assert.equal((await finished(res.body.id)).status, 'succeeded');
      const fetched = storage.requests.filter((r) => r.path.startsWith('/storage/'));
      assert.equal(fetched.length, 3);
      assert.ok(
        fetched.every((r) => r.authorization === undefined),
        'no credential went to the storage origin',
      );
    } finally {
      await storage.close();
    }
  });

  it('runs one scan per digest: parallel requests all get the same scan, exactly one row', async () => {
    const pushed = registry.push('my-org/parallel', 'v1', debianLayers());
    // Held until every request is answered: a scan that finished mid-burst would rightly let a later request start another.
    const release = gate('my-org/parallel', pushed.layerDigests[0]!);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        warden.request
          .post(`/api/v1/images/${path('my-org/parallel:v1')}/scan`)
          .set(key())
          .expect(202),
      ),
    );
    const ids = new Set(answers.map((res) => res.body.id));
    assert.equal(ids.size, 1, `one scan for all, got ${[...ids]}`);
    const rows = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM image_scans WHERE digest = $1`, [pushed.digest]);
    assert.equal(rows[0].n, 1);
    release();
    assert.equal((await finished([...ids][0]!)).status, 'succeeded');
    // Once finished, asking again starts a new scan.
    const next = await warden.request
      .post(`/api/v1/images/${path('my-org/parallel:v1')}/scan`)
      .set(key())
      .expect(202);
    assert.notEqual(next.body.id, [...ids][0]);
    await finished(next.body.id);
  });

  it('fails a scan with a clear reason for garbage, wrong digests, oversize and truncated layers, and a stalled registry', async () => {
    const scanOf = async (repository: string) => {
      const res = await warden.request
        .post(`/api/v1/images/${path(`${repository}:v1`)}/scan`)
        .set(key())
        .expect(202);
      return res.body.status === 'failed' ? res.body : finished(res.body.id);
    };
    // A manifest that is not JSON.
    registry.push('bad/garbage', 'v1', debianLayers());
    registry.overrides.set('/v2/bad/garbage/manifests/', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end('<html>definitely not a manifest</html>');
    });
    assert.match(String((await scanOf('bad/garbage')).reason), /manifest that is not JSON/);
    // A manifest over 4 MiB.
    registry.push('bad/huge-manifest', 'v1', debianLayers());
    registry.overrides.set('/v2/bad/huge-manifest/manifests/', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(Buffer.alloc(5 * MiB, 0x20));
    });
    assert.match(String((await scanOf('bad/huge-manifest')).reason), /manifest is larger than 4194304 bytes/);
    // A layer whose bytes are not the digest the manifest names.
    const tampered = registry.push('bad/tampered', 'v1', debianLayers());
    // Same length, same content once unpacked (the gzip header's mtime differs): only the digest can tell.
    const swapped = Buffer.from(registry.blobs.get(tampered.layerDigests[1]!)!);
    swapped[4]! ^= 1;
    registry.blobs.set(tampered.layerDigests[1]!, swapped);
    assert.match(String((await scanOf('bad/tampered')).reason), /layer 2's sha256 is sha256:[a-f0-9]{64}, not sha256:/);
    // A manifest that declares a 2 GiB layer: refused before a byte of it is read.
    const giant = registry.push('bad/giant', 'v1', debianLayers(), { declaredSizes: { 0: 2 * 1024 ** 3 } });
    const before = registry.requests.length;
    assert.equal(
      (await scanOf('bad/giant')).reason,
      `layer ${giant.layerDigests[0]} is ${2 * 1024 ** 3} bytes, over IMAGE_SCAN_MAX_LAYER_BYTES (${MiB})`,
    );
    assert.ok(!registry.requests.slice(before).some((r) => r.path.includes(giant.layerDigests[0]!)), 'the giant layer was never fetched');
    // A real layer over the configured maximum (incompressible bytes).
    registry.push('bad/big', 'v1', [tar([{ path: 'blob.bin', content: randomBytes(MiB + 4096) }])]);
    assert.match(String((await scanOf('bad/big')).reason), /over IMAGE_SCAN_MAX_LAYER_BYTES \(1048576\)/);
    // A gzip bomb: a small layer that unpacks past IMAGE_SCAN_MAX_UNPACKED_BYTES.
    registry.push('bad/bomb', 'v1', [tar([{ path: 'zeros', content: Buffer.alloc(30 * MiB) }])]);
    assert.match(String((await scanOf('bad/bomb')).reason), /unpack to more than IMAGE_SCAN_MAX_UNPACKED_BYTES/);
    // A layer that is not a tar archive at all.
    registry.push('bad/not-tar', 'v1', [Buffer.from('this is not a tar archive, it is just text'.repeat(20))]);
    assert.match(String((await scanOf('bad/not-tar')).reason), /not a tar archive/);
    // A layer cut short: the registry closes the connection mid-body.
    const cut = registry.push('bad/cut', 'v1', debianLayers());
    registry.overrides.set(`/v2/bad/cut/blobs/${cut.layerDigests[0]}`, (_req, res) => {
      const blob = registry.blobs.get(cut.layerDigests[0]!)!;
      res.writeHead(200, { 'Content-Length': blob.length });
      res.write(blob.subarray(0, 100));
      setTimeout(() => res.destroy(), 20);
    });
    assert.match(String((await scanOf('bad/cut')).reason), /^layer 1 \(sha256:[a-f0-9]{64}\) did not arrive in full: /);
    // A registry that stops answering mid-scan: the outbound timeout ends it.
    const stalled = registry.push('bad/stalled', 'v1', debianLayers());
    registry.overrides.set(`/v2/bad/stalled/blobs/${stalled.layerDigests[0]}`, () => undefined);
    assert.match(String((await scanOf('bad/stalled')).reason), /no answer within 1500 ms/);
    // No failed scan left a report; the service is still up.
    const [{ n }] = await warden.database.dataSource.query(
      `SELECT count(*)::int AS n FROM image_scans WHERE status = 'failed' AND report IS NOT NULL`,
    );
    assert.equal(n, 0);
    const report = await warden.request
      .get(`/api/v1/images/${path('bad/giant:v1')}/scan-report`)
      .set(key())
      .expect(404);
    assert.match(report.body.message, /its latest scan iscan_\w+ failed: layer sha256:/);
  });

  it('marks a scan a stopped instance left running as failed when recovery runs (not re-run)', async () => {
    const id = 'iscan_0000000000stalerunning0001';
    await warden.database.dataSource.query(
      `INSERT INTO image_scans (id, org_id, ref, registry, repository, tag, digest, status, started_at, heartbeat_at)
       VALUES ($1, $2, 'r.example.com/x/y:1', 'r.example.com', 'x/y', '1', $3, 'running', now() - interval '10 minutes', now() - interval '5 minutes')`,
      [id, org.id, sha256(Buffer.from('stale'))],
    );
    const fresh = 'iscan_0000000000freshrunning0001';
    await warden.database.dataSource.query(
      `INSERT INTO image_scans (id, org_id, ref, registry, repository, tag, digest, status, started_at, heartbeat_at)
       VALUES ($1, $2, 'r.example.com/x/z:1', 'r.example.com', 'x/z', '1', $3, 'running', now(), now())`,
      [fresh, org.id, sha256(Buffer.from('fresh'))],
    );
    assert.equal(await warden.services.images.recover(), 1);
    const { body } = await warden.request.get(`/api/v1/image-scans/${id}`).set(key()).expect(200);
    assert.deepEqual([body.status, body.reason], ['failed', INTERRUPTED]);
    assert.equal((await warden.request.get(`/api/v1/image-scans/${fresh}`).set(key()).expect(200)).body.status, 'running');
    await warden.database.dataSource.query(`DELETE FROM image_scans WHERE id = $1`, [fresh]);
  });

  /** The scan report of a reference, as the API answers it (200). */
  async function reportOf(ref: string) {
    return (
      await warden.request
        .get(`/api/v1/images/${path(ref)}/scan-report`)
        .set(key())
        .expect(200)
    ).body;
  }

  /** Holds a layer: the registry trickles it a byte every 100 ms (never silent long enough to time out) until the gate opens. */
  function gate(repository: string, digest: string): () => void {
    let open = false;
    registry.overrides.set(`/v2/${repository}/blobs/${digest}`, (_req, res) => {
      const blob = registry.blobs.get(digest)!;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.length });
      let sent = 0;
      const timer = setInterval(() => {
        if (open || sent >= blob.length - 1) {
          clearInterval(timer);
          res.end(blob.subarray(sent));
        } else res.write(blob.subarray(sent, ++sent));
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    return () => {
      open = true;
    };
  }
  const slowLayers = () => [
    tar([
      { path: 'app/node_modules/x/package.json', content: pkg('x', '1.0.0') },
      { path: 'pad', content: randomBytes(4000) },
    ]),
  ];
  const statusOf = async (id: string) =>
    (await warden.database.dataSource.query(`SELECT status, started_at FROM image_scans WHERE id = $1`, [id]))[0] as {
      status: string;
      started_at: Date | null;
    };

  it("records a request that joins another reference's in-flight scan of the same digest under its own reference", async () => {
    const pushed = registry.push('merge/app', 'a', slowLayers());
    registry.manifests.set('merge/app:b', registry.manifests.get('merge/app:a')!);
    const release = gate('merge/app', pushed.layerDigests[0]!);
    const refA = `${registry.host}/merge/app:a`;
    const refB = `${registry.host}/merge/app:b`;
    const first = await warden.request
      .post(`/api/v1/images/${path(refA)}/scan`)
      .set(key())
      .expect(202);
    const joined = await warden.request
      .post(`/api/v1/images/${path(refB)}/scan`)
      .set(key())
      .expect(202);
    assert.equal(joined.body.id, first.body.id, 'one scan of the digest');
    assert.deepEqual([joined.body.ref, joined.body.tag, joined.body.digest], [refB, 'b', pushed.digest]);
    const event = await theAuditEventOf(warden, joined);
    assert.deepEqual(
      [event.action, event.resource_id, event.details?.ref, event.details?.joined_scan_of],
      ['image.scan_requested', first.body.id, refB, refA],
    );
    const images = (await warden.request.get('/api/v1/images').set(key()).expect(200)).body.images as Array<Record<string, unknown>>;
    const listed = images.find((image) => image.ref === refB);
    assert.ok(listed, 'GET /images lists B');
    assert.deepEqual([listed.latest_scan_id, listed.digest], [first.body.id, pushed.digest]);
    assert.ok(['queued', 'running'].includes(String(listed.latest_scan_status)));
    const pending = await warden.request
      .get(`/api/v1/images/${path(refB)}/scan-report`)
      .set(key())
      .expect(404);
    assert.match(pending.body.message, new RegExp(`its scan ${first.body.id} is (queued|running)`));
    release();
    assert.equal((await finished(first.body.id)).status, 'succeeded');
    for (const ref of [refA, refB]) {
      const report = await reportOf(ref);
      assert.deepEqual([report.scan.id, report.scan.ref, report.digest], [first.body.id, ref, pushed.digest]);
      assert.deepEqual(
        report.packages.map((p: { name: string }) => p.name),
        ['x'],
      );
    }
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM image_scans WHERE digest = $1`, [pushed.digest]);
    assert.equal(n, 1);
    registry.overrides.delete(`/v2/merge/app/blobs/${pushed.layerDigests[0]}`);
  });

  it('keeps a failure reason short: an index of 12,000 platforms is summarised, every reason capped at 1,000 characters', async () => {
    const manifests = Array.from({ length: 12_000 }, (_, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(Buffer.from(`p${i}`)),
      size: 100,
      platform: { os: 'linux', architecture: `arch${i}-${'x'.repeat(100)}` },
    }));
    registry.overrides.set('/v2/wide/index/manifests/', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    });
    const res = await warden.request
      .post(`/api/v1/images/${path('wide/index:v1')}/scan`)
      .set(key())
      .expect(202);
    assert.equal(res.body.status, 'failed');
    const reason = String(res.body.reason);
    assert.ok(reason.length <= 1000, `reason is ${reason.length} characters`);
    assert.match(reason, /^the image index has no linux\/amd64 manifest \(it has 12000 platforms; first: linux\/arch0-x{26}, /);
    assert.match(reason, /, … and 11990 more\)$/);
    const [row] = await warden.database.dataSource.query(`SELECT reason FROM image_scans WHERE id = $1`, [res.body.id]);
    assert.equal(row.reason, reason);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.details?.reason, reason);
    assert.ok(JSON.stringify(event).length < 4000, 'the audit event stays small');
    registry.overrides.delete('/v2/wide/index/manifests/');
  });

  it("shares workers between orgs: a scan of an org with none running starts before another org's backlog", async () => {
    assert.equal(loadConfig({}).images.concurrency, 2, 'the app runs two workers');
    const [busy, idle] = [await createOrg(warden, 'starter', 'Busy scans'), await createOrg(warden, 'starter', 'Idle scans')];
    for (const who of [busy, idle]) {
      await warden.request
        .post('/api/v1/image-registry-credentials')
        .set('X-API-Key', who.key)
        .send({ registry: registry.host, username: 'ci-bot', password: PASSWORD })
        .expect(201);
    }
    const releases = new Map<string, () => void>();
    const backlog: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const pushed = registry.push(`fair/a${i}`, 'v1', slowLayers());
      const res = await warden.request
        .post(`/api/v1/images/${path(`fair/a${i}:v1`)}/scan`)
        .set('X-API-Key', busy.key)
        .expect(202);
      releases.set(res.body.id, gate(`fair/a${i}`, pushed.layerDigests[0]!));
      backlog.push(res.body.id);
    }
    // Both workers are busy with two of the busy org's scans; two more of its scans are queued.
    let running: string[] = [];
    for (let i = 0; i < 100 && running.length < 2; i++, await sleep(50)) {
      running = [];
      for (const id of backlog) if ((await statusOf(id)).status === 'running') running.push(id);
    }
    assert.equal(running.length, 2);
    const waiting = backlog.filter((id) => !running.includes(id));
    registry.push('fair/b', 'v1', slowLayers());
    const other = await warden.request
      .post(`/api/v1/images/${path('fair/b:v1')}/scan`)
      .set('X-API-Key', idle.key)
      .expect(202);
    assert.equal(other.body.status, 'queued');
    // One worker frees up: it takes the idle org's scan, though the busy org's queued ones are older.
    releases.get(running[0]!)!();
    const done = await finished(other.body.id, idle);
    assert.equal(done.status, 'succeeded');
    const later = await Promise.all(waiting.map(statusOf));
    assert.ok(
      later.some((scan) => scan.status === 'queued'),
      'one of the backlog is still queued',
    );
    for (const scan of later) if (scan.started_at) assert.ok(scan.started_at >= new Date(String(done.started_at)));
    for (const release of releases.values()) release();
    for (const id of backlog) assert.equal((await finished(id, busy)).status, 'succeeded');
  });

  it('keeps orgs apart: another org sees none of the images, scans, reports or credentials', async () => {
    const other = await createOrg(warden, 'starter', 'Other org');
    const mine = (await warden.request.get('/api/v1/images').set(key()).expect(200)).body.images;
    assert.ok(mine.length > 0);
    const theirs = await warden.request.get('/api/v1/images').set('X-API-Key', other.key).expect(200);
    assert.deepEqual(theirs.body.images, []);
    const scanId = mine[0].latest_scan_id;
    const scan = await warden.request.get(`/api/v1/image-scans/${scanId}`).set('X-API-Key', other.key).expect(404);
    assert.equal(scan.body.code, 'IMAGE_SCAN_NOT_FOUND');
    await warden.request.get('/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan-report').set('X-API-Key', other.key).expect(404);
    const creds = (await warden.request.get('/api/v1/image-registry-credentials').set(key()).expect(200)).body.registry_credentials;
    const gone = await warden.request.delete(`/api/v1/image-registry-credentials/${creds[0].id}`).set('X-API-Key', other.key).expect(404);
    assert.equal(gone.body.code, 'REGISTRY_CREDENTIAL_NOT_FOUND');
    assert.deepEqual(
      (await warden.request.get('/api/v1/image-registry-credentials').set('X-API-Key', other.key).expect(200)).body.registry_credentials,
      [],
    );
    // The other org, without a credential of its own, cannot read the registry with the first org's.
    const denied = await warden.request.post('/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan').set('X-API-Key', other.key).expect(202);
    assert.equal(denied.body.status, 'failed');
  });

  it('gates by plan (402, fleet_ops), permission (403) and answers 400 for a malformed reference', async () => {
    const free = await createOrg(warden, 'free', 'Free org');
    const res = await warden.request.post('/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan').set('X-API-Key', free.key).expect(402);
    assert.deepEqual(
      [res.body.error, res.body.code, res.body.required_plan],
      ['plan_limit_exceeded', 'FLEET_OPS_REQUIRES_UPGRADE', 'starter'],
    );
    for (const [method, url] of [
      ['get', '/api/v1/images'],
      ['get', '/api/v1/images/x/scan-report'],
      ['get', '/api/v1/image-scans/iscan_0000000000'],
      ['get', '/api/v1/image-registry-credentials'],
      ['post', '/api/v1/image-registry-credentials'],
      ['delete', '/api/v1/image-registry-credentials/rcred_0000000000'],
    ] as const) {
      await warden.request[method](url).set('X-API-Key', free.key).send({ registry: 'r.example.com', token: 't' }).expect(402);
    }
    const viewer = await warden.services.apiKeys.insert({
      orgId: org.id,
      createdBy: null,
      name: 'viewer',
      description: '',
      mode: 'live',
      permissions: ['image.read'],
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    const forbidden = await warden.request.post('/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan').set('X-API-Key', viewer.key).expect(403);
    assert.equal(forbidden.body.error, 'forbidden');
    await warden.request
      .post('/api/v1/image-registry-credentials')
      .set('X-API-Key', viewer.key)
      .send({ registry: 'a.b', token: 't' })
      .expect(403);
    await warden.request.delete('/api/v1/image-registry-credentials/rcred_0000000000').set('X-API-Key', viewer.key).expect(403);
    await warden.request.get('/api/v1/images').set('X-API-Key', viewer.key).expect(200);
    await warden.request.get('/api/v1/images').expect(401);
    for (const bad of ['UPPER%2Fcase:v1', 'my-org%2Fagent:bad%20tag', 'repo@sha256:abc', 'a%2F%2Fb:v1']) {
      const malformed = await warden.request.post(`/api/v1/images/${bad}/scan`).set(key()).expect(400);
      assert.equal(malformed.body.code, 'IMAGE_REF_INVALID');
    }
    await warden.request.get('/api/v1/images?limit=0').set(key()).expect(400);
    await warden.request.get('/api/v1/image-scans/not-an-id').set(key()).expect(400);
    await warden.request.get('/api/v1/image-registry-credentials?limit=500').set(key()).expect(400);
    await warden.request
      .post('/api/v1/image-registry-credentials')
      .set(key())
      .set('Content-Type', 'application/json')
      .send('{"registry":')
      .expect(400);
    await warden.request.delete('/api/v1/image-registry-credentials/not-an-id').set(key()).expect(400);
    await warden.request.get('/api/v1/images/UPPER%2Fcase/scan-report').set(key()).expect(400);
    // Every operation: 401 without a credential, 403 to a key that holds no image permission.
    const unrelated = await warden.services.apiKeys.insert({
      orgId: org.id,
      createdBy: null,
      name: 'agents only',
      description: '',
      mode: 'live',
      permissions: ['agent.read'],
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    for (const [method, url] of [
      ['get', '/api/v1/images'],
      ['post', '/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan'],
      ['get', '/api/v1/images/my-org%2Fmy-agent:v1.0.0/scan-report'],
      ['get', '/api/v1/image-scans/iscan_0000000000'],
      ['get', '/api/v1/image-registry-credentials'],
      ['post', '/api/v1/image-registry-credentials'],
      ['delete', '/api/v1/image-registry-credentials/rcred_0000000000'],
    ] as const) {
      await warden.request[method](url).send({ registry: 'r.example.com', token: 't' }).expect(401);
      await warden.request[method](url).set('X-API-Key', unrelated.key).send({ registry: 'r.example.com', token: 't' }).expect(403);
    }
  });

  it('counts scans against the image_scan rate limit per org (429 with Retry-After)', async () => {
    const busy = await createOrg(warden, 'starter', 'Busy org');
    for (let i = 0; i < 40; i++) {
      const res = await warden.request
        .post(`/api/v1/images/${path(`nothing/here:v${i}`)}/scan`)
        .set('X-API-Key', busy.key)
        .expect(202);
      assert.match(res.body.reason, /HTTP 401|HTTP 404/);
      assert.ok(Number(res.headers['ratelimit-remaining']) >= 0);
    }
    const limited = await warden.request
      .post(`/api/v1/images/${path('nothing/here:v41')}/scan`)
      .set('X-API-Key', busy.key)
      .expect(429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM image_scans WHERE org_id = $1`, [busy.id]);
    assert.equal(n, 40);
  });

  it('deletes a credential (audited with its before, no secret), and pages the image list', async () => {
    const creds = (await warden.request.get('/api/v1/image-registry-credentials').set(key()).expect(200)).body.registry_credentials;
    const res = await warden.request.delete(`/api/v1/image-registry-credentials/${creds[0].id}`).set(key()).expect(204);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'image.registry_credential_deleted');
    assert.ok(!JSON.stringify(event).includes(PASSWORD));
    await warden.request.delete(`/api/v1/image-registry-credentials/${creds[0].id}`).set(key()).expect(404);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { images: Array<{ id: string }>; next_cursor: string | null } } = await warden.request
        .get(`/api/v1/images?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(key())
        .expect(200);
      seen.push(...page.body.images.map((image) => image.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM images WHERE org_id = $1`, [org.id]);
    assert.equal(seen.length, n);
    assert.equal(new Set(seen).size, n);
  });
});
