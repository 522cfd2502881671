import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forbiddenAddressReason } from '../src/outbound/address-policy';
import { DestinationRefusedError, DestinationUnresolvableError, OutboundHttp } from '../src/outbound/outbound-http';
import { type HttpReceiver, startHttpReceiver, status } from './support/http-receiver';

const policy = { allowedHosts: [] as string[], timeoutMs: 2000, retryBaseMs: 10 };

async function text(body: NodeJS.ReadableStream): Promise<string> {
  let read = '';
  for await (const chunk of body) read += String(chunk);
  return read;
}

async function refusal(client: OutboundHttp, url: string): Promise<string> {
  const error = await client.destination(url).then(
    () => assert.fail(`${url} was accepted`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof DestinationRefusedError, `${url}: ${String(error)}`);
  return error.message;
}

describe('outbound HTTP: SSRF defences for URLs callers give Warden', () => {
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await startHttpReceiver();
  });
  after(() => receiver.close());

  it('classifies special-purpose addresses, IPv4 inside IPv6 included, and lets public ones through', () => {
    const refused: Record<string, RegExp> = {
      '127.255.0.9': /loopback/,
      '172.31.255.255': /private/,
      '169.254.169.254': /metadata/,
      '169.254.10.10': /link-local/,
      '100.64.0.1': /carrier-grade/,
      '::ffff:127.0.0.1': /loopback/,
      '::ffff:7f00:1': /loopback/,
      '::ffff:a9fe:a9fe': /metadata/,
      '64:ff9b::a9fe:a9fe': /metadata/,
      '2002:c0a8:101::1': /private.*as 192\.168\.1\.1 inside 2002::\/16 6to4/,
      'fd00:ec2::254': /metadata/,
      'fc00::1': /unique local/,
      '::ffff:0:7f00:1': /IPv4-translated/,
      '::ffff:0:a9fe:a9fe': /IPv4-translated/,
    };
    for (const [address, reason] of Object.entries(refused)) assert.match(forbiddenAddressReason(address) ?? 'allowed', reason, address);
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::8.8.8.8',
      '2002:808:808::1',
    ]) {
      assert.equal(forbiddenAddressReason(address), null, address);
    }
  });

  it('refuses the first and last address of every special-purpose block (IANA IPv4 and IPv6 registries), and a public neighbour just outside passes', async () => {
    const client = new OutboundHttp(policy);
    const url = (address: string) => (address.includes(':') ? `https://[${address}]/` : `https://${address}/`);
    // [block, first, last, public neighbours just outside]. Written out here rather than derived
    // from the policy's table, so a block missing from it fails.
    const blocks: Array<[string, string, string, string[]]> = [
      ['0.0.0.0/8', '0.0.0.0', '0.255.255.255', ['1.0.0.0']],
      ['10.0.0.0/8', '10.0.0.0', '10.255.255.255', ['9.255.255.255', '11.0.0.0']],
      ['100.64.0.0/10', '100.64.0.0', '100.127.255.255', ['100.63.255.255', '100.128.0.0']],
      ['100.100.100.200/32', '100.100.100.200', '100.100.100.200', []],
      ['127.0.0.0/8', '127.0.0.0', '127.255.255.255', ['126.255.255.255', '128.0.0.0']],
      ['169.254.0.0/16', '169.254.0.0', '169.254.255.255', ['169.253.255.255', '169.255.0.0']],
      ['169.254.169.254/32', '169.254.169.254', '169.254.169.254', []],
      ['172.16.0.0/12', '172.16.0.0', '172.31.255.255', ['172.15.255.255', '172.32.0.0']],
      ['192.0.0.0/24', '192.0.0.0', '192.0.0.255', ['191.255.255.255', '192.0.1.0']],
      ['192.0.0.0/29', '192.0.0.0', '192.0.0.7', []],
      ['192.0.0.8/32', '192.0.0.8', '192.0.0.8', []],
      ['192.0.0.9/32', '192.0.0.9', '192.0.0.9', []],
      ['192.0.0.10/32', '192.0.0.10', '192.0.0.10', []],
      ['192.0.0.170/32', '192.0.0.170', '192.0.0.170', []],
      ['192.0.0.171/32', '192.0.0.171', '192.0.0.171', []],
      ['192.0.2.0/24', '192.0.2.0', '192.0.2.255', ['192.0.1.255', '192.0.3.0']],
      ['192.31.196.0/24', '192.31.196.0', '192.31.196.255', ['192.31.195.255', '192.31.197.0']],
      ['192.52.193.0/24', '192.52.193.0', '192.52.193.255', ['192.52.192.255', '192.52.194.0']],
      ['192.88.99.0/24', '192.88.99.0', '192.88.99.255', ['192.88.98.255', '192.88.100.0']],
      ['192.88.99.2/32', '192.88.99.2', '192.88.99.2', []],
      ['192.168.0.0/16', '192.168.0.0', '192.168.255.255', ['192.167.255.255', '192.169.0.0']],
      ['192.175.48.0/24', '192.175.48.0', '192.175.48.255', ['192.175.47.255', '192.175.49.0']],
      ['198.18.0.0/15', '198.18.0.0', '198.19.255.255', ['198.17.255.255', '198.20.0.0']],
      ['198.51.100.0/24', '198.51.100.0', '198.51.100.255', ['198.51.99.255', '198.51.101.0']],
      ['203.0.113.0/24', '203.0.113.0', '203.0.113.255', ['203.0.112.255', '203.0.114.0']],
      ['224.0.0.0/4', '224.0.0.0', '239.255.255.255', ['223.255.255.255']],
      ['240.0.0.0/4', '240.0.0.0', '255.255.255.254', []],
      ['255.255.255.255/32', '255.255.255.255', '255.255.255.255', []],
      ['::/128', '::', '::', []],
      ['::1/128', '::1', '::1', []],
      ['::/96 IPv4-compatible', '::0.0.0.2', '::255.255.255.255', []],
      ['::ffff:0:0/96 IPv4-mapped', '::ffff:0.0.0.0', '::ffff:255.255.255.255', ['::ffff:808:808']],
      ['::ffff:0:0:0/96 IPv4-translated', '::ffff:0:0:0', '::ffff:0:ffff:ffff', []],
      ['64:ff9b::/96 NAT64', '64:ff9b::', '64:ff9b::ffff:ffff', ['64:ff9b::808:808']],
      ['64:ff9b:1::/48', '64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff', []],
      ['100::/64', '100::', '100::ffff:ffff:ffff:ffff', []],
      ['100:0:0:1::/64', '100:0:0:1::', '100:0:0:1:ffff:ffff:ffff:ffff', []],
      ['2001::/23', '2001::', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', ['2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:200::']],
      ['2001::/32 Teredo', '2001::', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:1::1/128', '2001:1::1', '2001:1::1', []],
      ['2001:1::2/128', '2001:1::2', '2001:1::2', []],
      ['2001:1::3/128', '2001:1::3', '2001:1::3', []],
      ['2001:2::/48', '2001:2::', '2001:2:0:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:3::/32', '2001:3::', '2001:3:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:4:112::/48', '2001:4:112::', '2001:4:112:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:10::/28', '2001:10::', '2001:1f:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:20::/28', '2001:20::', '2001:2f:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:30::/28', '2001:30::', '2001:3f:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::']],
      [
        '2002::/16 6to4',
        '2002::',
        '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
        ['2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2003::', '2002:808:808::1'],
      ],
      [
        '2620:4f:8000::/48',
        '2620:4f:8000::',
        '2620:4f:8000:ffff:ffff:ffff:ffff:ffff',
        ['2620:4f:7fff:ffff:ffff:ffff:ffff:ffff', '2620:4f:8001::'],
      ],
      ['3fff::/20', '3fff::', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '3fff:1000::']],
      ['5f00::/16', '5f00::', '5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['fc00::/7', 'fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['fd00:ec2::254/128', 'fd00:ec2::254', 'fd00:ec2::254', []],
      ['fe80::/10', 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['fec0::/10', 'fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['ff00::/8', 'ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
      ['outside 2000::/3', '4000::', '1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
    ];
    for (const [name, first, last, neighbours] of blocks) {
      for (const address of [first, last]) assert.match(await refusal(client, url(address)), /^\S+ is an? /, `${name}: ${address}`);
      for (const address of neighbours)
        assert.equal((await client.destination(url(address))).address, address, `${name}: neighbour ${address}`);
    }
    assert.equal(
      await refusal(client, 'https://[::ffff:0:7f00:1]/'),
      '::ffff:0:7f00:1 is an IPv4-translated address (::ffff:0:0:0/96 IPv4-translated Address, RFC 2765)',
    );
    assert.equal(
      await refusal(client, 'https://[::ffff:a9fe:a9fe]/'),
      '::ffff:a9fe:a9fe is a cloud metadata address (169.254.169.254/32 Instance metadata service, AWS, Azure, GCP), as 169.254.169.254 inside ::ffff:0:0/96 IPv4-mapped Address',
    );
  });

  it('refuses loopback in every spelling, metadata, plain http, credentials in the URL and other schemes when nothing is allow-listed', async () => {
    const client = new OutboundHttp(policy);
    for (const url of [
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://2130706433/', // decimal
      'https://0177.0.0.1/', // octal
      'https://0x7f.0.0.1/', // hex
      'https://127.1/', // short form
      'https://localhost/', // a name that resolves to 127.0.0.1
      'https://169.254.169.254/latest/meta-data/',
      'https://[fd00:ec2::254]/',
      'https://10.0.0.8:8088/services/collector',
    ]) {
      assert.match(await refusal(client, url), /loopback|metadata|private/, url);
    }
    assert.match(await refusal(client, 'https://localhost/'), /localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/);
    assert.match(await refusal(client, 'http://example.com/'), /must use https/);
    assert.match(await refusal(client, 'ftp://example.com/'), /must use https, not ftp:/);
    assert.match(await refusal(client, 'https://user:pw@example.com/'), /user name or password/);
    assert.match(await refusal(client, 'not a url'), /not a valid absolute URL/);
  });

  it('checks every address a name resolves to, resolves once, and connects to the address it checked (no DNS rebinding)', async () => {
    let lookups = 0;
    const answers = [
      [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ],
    ];
    const mixed = new OutboundHttp(policy, async () => answers[lookups++]!);
    assert.match(await refusal(mixed, 'https://mixed.example/'), /resolves to 10\.0\.0\.5, which is a private address/);

    // An allow-listed name that no real DNS knows: the request can only arrive through the pinned address.
    const resolved: string[] = [];
    const rebinding = new OutboundHttp({ ...policy, allowedHosts: ['intake.test'] }, async (host) => {
      resolved.push(host);
      return resolved.length === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
    });
    const destination = await rebinding.destination(`http://intake.test:${receiver.port}/v2/enqueue`);
    assert.equal(destination.address, '127.0.0.1');
    receiver.reset();
    receiver.reply(status(503), status(202));
    const delivery = await rebinding.post(destination, { 'Content-Type': 'application/json' }, '{"a":1}');
    assert.deepEqual({ ok: delivery.ok, attempts: delivery.attempts, status: delivery.status }, { ok: true, attempts: 2, status: 202 });
    assert.deepEqual(resolved, ['intake.test'], 'resolved once, not again for the retry');
    assert.equal(receiver.requests.length, 2);
    assert.equal(receiver.requests[0]!.headers.host, `intake.test:${receiver.port}`);
    assert.equal(receiver.requests[0]!.body, '{"a":1}');

    const unknown = new OutboundHttp(policy, async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    });
    await assert.rejects(unknown.destination('https://nowhere.invalid/'), DestinationUnresolvableError);
  });

  it('forward to a route checks a name at each new connection, connects to what it checked, and reuses a kept-alive one without resolving again', async () => {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(req.headers.host));
    });
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const resolved: string[] = [];
      // A name no real DNS knows: a call can only arrive through the address this resolver gave.
      const vendor = new OutboundHttp({ ...policy, allowedHosts: [`vendor.test:${port}`] }, async (host) => {
        resolved.push(host);
        return [{ address: '127.0.0.1', family: 4 }];
      });
      const route = vendor.route(new URL(`http://vendor.test:${port}/v1/ping`));
      for (let call = 0; call < 3; call++) {
        const answer = await vendor.forward(route, { method: 'GET', headers: {}, timeoutMs: 2000 });
        assert.equal(answer.status, 200);
        assert.equal(await text(answer.body), `vendor.test:${port}`);
      }
      assert.deepEqual(resolved, ['vendor.test'], 'resolved for the one connection, not per call');
      assert.equal(connections, 1, 'the kept-alive connection served every call');
      vendor.close();

      // Not allow-listed: every address the name resolves to is checked before the connection is made.
      const rebound = new OutboundHttp(policy, async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
      const refused = await rebound
        .forward(rebound.route(new URL(`https://rebound.example:${port}/`)), { method: 'GET', headers: {}, timeoutMs: 2000 })
        .then(
          () => assert.fail('a name resolving to loopback was called'),
          (error: unknown) => error,
        );
      assert.ok(refused instanceof DestinationRefusedError, String(refused));
      assert.match(refused.message, /rebound\.example resolves to 127\.0\.0\.1, which is a loopback address/);
      assert.equal(connections, 1, 'nothing connected');
      const nowhere = new OutboundHttp(policy, async () => []);
      await assert.rejects(
        nowhere.forward(nowhere.route(new URL('https://nowhere.invalid/')), { method: 'GET', headers: {}, timeoutMs: 2000 }),
        DestinationUnresolvableError,
      );
      // An IP literal is connected to without a lookup: its address is checked when the route is made.
      assert.throws(() => rebound.route(new URL('https://169.254.169.254/latest/meta-data/')), /metadata/);
      assert.throws(() => rebound.route(new URL(`http://vendor.test:${port}/`)), /must use https/);
      assert.throws(() => rebound.route(new URL('https://user:secret@vendor.example/')), /user name or password/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an allow-list entry with a port allows only that port', async () => {
    const client = new OutboundHttp({ ...policy, allowedHosts: [`127.0.0.1:${receiver.port}`] });
    assert.equal((await client.destination(receiver.url('/x'))).address, '127.0.0.1');
    assert.match(await refusal(client, `http://127.0.0.1:${receiver.port + 1}/x`), /must use https/);
    assert.match(await refusal(client, `https://127.0.0.1:${receiver.port + 1}/x`), /loopback/);
  });

  it('does not follow a redirect (to the metadata address), and does not retry it', async () => {
    const client = new OutboundHttp({ ...policy, allowedHosts: ['127.0.0.1'] });
    receiver.reset();
    receiver.reply(status(302, { Location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' }));
    const delivery = await client.post(await client.destination(receiver.url('/intake')), {}, '[]');
    assert.deepEqual(delivery, { ok: false, status: 302, attempts: 1, reason: 'HTTP 302 redirect not followed' });
    assert.equal(receiver.requests.length, 1);
  });

  it('retries 429 and 5xx with backoff up to three attempts; a 4xx is final; answers over 64 KiB are cut off', async () => {
    const client = new OutboundHttp({ ...policy, allowedHosts: ['127.0.0.1'] });
    const destination = await client.destination(receiver.url('/intake'));
    receiver.reset();
    receiver.reply(status(500), status(429, { 'Retry-After': '0' }), status(503));
    assert.deepEqual(await client.post(destination, {}, '[]'), { ok: false, status: 503, attempts: 3, reason: 'HTTP 503' });
    receiver.reply(status(400));
    assert.deepEqual(await client.post(destination, {}, '[]'), { ok: false, status: 400, attempts: 1, reason: 'HTTP 400' });
    receiver.reply(status(200, {}, 'x'.repeat(200 * 1024)));
    const large = await client.post(destination, {}, '[]');
    assert.deepEqual(large, { ok: false, status: 200, attempts: 1, reason: 'the answer exceeded 65536 bytes' });
    assert.equal(receiver.requests.length, 5);
  });

  it("verifies the intake's TLS certificate: a self-signed one is refused before any request is sent, and not retried", async () => {
    const tls = join(__dirname, 'fixtures', 'tls');
    let requests = 0;
    const server = createHttpsServer(
      { cert: readFileSync(join(tls, 'self-signed-cert.pem')), key: readFileSync(join(tls, 'self-signed-key.pem')) },
      (_req, res) => {
        requests++;
        res.end('{}');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new OutboundHttp({ ...policy, allowedHosts: ['127.0.0.1'] });
      const { port } = server.address() as AddressInfo;
      const delivery = await client.post(await client.destination(`https://127.0.0.1:${port}/api/v2/logs`), {}, '[]');
      assert.deepEqual(delivery, { ok: false, status: null, attempts: 1, reason: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      assert.equal(requests, 0);
    } finally {
      server.close();
    }
  });
});
