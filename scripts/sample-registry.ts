/**
 * A registry on loopback with one sample image, to try image scans without Docker:
 * `npx tsx scripts/sample-registry.ts [port]` serves `localhost:<port>/sample/agent:1.0` (port 5000 by
 * default) over plain http with no auth, until Ctrl-C. It is the test suite's registry fixture
 * (test/support/oci-registry-fixture.ts); the image is a Debian 12 layer with dpkg's status, an npm
 * package and a Python one, whose versions the advisories in test/fixtures/osv name.
 */
import { OciRegistryFixture, tar } from '../test/support/oci-registry-fixture';

const port = Number(process.argv[2] ?? 5000);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`Usage: npx tsx scripts/sample-registry.ts [port]   (not a port: ${process.argv[2]})`);
  process.exit(2);
}

const DPKG_STATUS = `Package: openssl
Status: install ok installed
Version: 3.0.11-1~deb12u1

Package: libc6
Status: install ok installed
Source: glibc
Version: 2.36-9+deb12u4
`;

const layer = tar([
  { path: 'etc/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' },
  { path: 'var/lib/dpkg/status', content: DPKG_STATUS },
  { path: 'app/node_modules/lodash/package.json', content: JSON.stringify({ name: 'lodash', version: '4.17.20' }) },
  {
    path: 'usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA',
    content: 'Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\n',
  },
]);

async function main(): Promise<void> {
  // `localhost` as Warden will resolve it (the first address), so the scan connects where this listens.
  const registry = await new OciRegistryFixture({ username: '', password: '' }, 'anonymous').start(port, 'localhost');
  const image = registry.push('sample/agent', '1.0', [layer]);
  const host = `localhost:${port}`;
  console.log(`Sample registry on http://${host} (plain http, no auth): ${host}/sample/agent:1.0 = ${image.digest}`);
  console.log(`Start Warden with OUTBOUND_ALLOWED_HOSTS=${host} IMAGE_INSECURE_REGISTRIES=${host} OSV_DATA_DIR=test/fixtures/osv`);
  console.log(`and scan ${host}%2Fsample%2Fagent:1.0 (POST /api/v1/images/{ref}/scan). Ctrl-C stops.`);
  const stop = () => void registry.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: NodeJS.ErrnoException) => {
  console.error(`The sample registry cannot listen on localhost:${port}: ${error.code ?? error.message}`);
  process.exit(1);
});
