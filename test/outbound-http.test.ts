import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forbiddenAddressReason } from '../src/outbound/address-policy';
import { DestinationRefusedError, DestinationUnresolvableError, OutboundHttp } from '../src/outbound/outbound-http';
import { startHttpReceiver, status, type HttpReceiver } from './support/http-receiver';

const policy = { allowedHosts: [] as string[], timeoutMs: 2000, retryBaseMs: 10 };

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
      '127.0.0.1': /loopback/,
      '127.255.0.9': /loopback/,
      '10.1.2.3': /private/,
      '172.16.0.1': /private/,
      '172.31.255.255': /private/,
      '192.168.1.1': /private/,
      '169.254.169.254': /metadata/,
      '169.254.10.10': /link-local/,
      '100.64.0.1': /carrier-grade/,
      '0.0.0.0': /unspecified/,
      '224.0.0.1': /multicast/,
      '::': /unspecified/,
      '::1': /loopback/,
      '::ffff:127.0.0.1': /loopback/,
      '::ffff:7f00:1': /loopback/,
      '::ffff:a9fe:a9fe': /metadata/,
      '64:ff9b::a9fe:a9fe': /metadata/,
      '2002:c0a8:101::1': /private/,
      'fd00:ec2::254': /metadata/,
      'fc00::1': /unique local/,
      'fe80::1': /link-local/,
      'ff02::1': /multicast/,
    };
    for (const [address, reason] of Object.entries(refused)) assert.match(forbiddenAddressReason(address) ?? 'allowed', reason, address);
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(forbiddenAddressReason(address), null, address);
    }
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
    const answers = [[{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }]];
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

  it('verifies the intake\'s TLS certificate: a self-signed one is refused before any request is sent, and not retried', async () => {
    const tls = join(__dirname, 'fixtures', 'tls');
    let requests = 0;
    const server = createHttpsServer({ cert: readFileSync(join(tls, 'self-signed-cert.pem')), key: readFileSync(join(tls, 'self-signed-key.pem')) }, (_req, res) => {
      requests++;
      res.end('{}');
    });
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
