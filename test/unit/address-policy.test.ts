import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forbiddenAddressReason, ipv6Groups } from '../../src/outbound/address-policy';

/** [address, what the refusal must start with, or null for an address an outbound call may reach]. */
const CASES: Array<[string, string | null]> = [
  ['8.8.8.8', null],
  ['1.1.1.1', null],
  ['2606:4700:4700::1111', null],
  ['[2001:4860:4860::8888]', null],
  ['::ffff:8.8.8.8', null],
  ['64:ff9b::808:808', null],
  ['127.0.0.1', 'a loopback address (127.0.0.0/8'],
  ['127.255.255.254', 'a loopback address'],
  ['0.0.0.0', 'an unspecified address (0.0.0.0/32'],
  ['10.1.2.3', 'a private address (10.0.0.0/8'],
  ['172.31.255.255', 'a private address (172.16.0.0/12'],
  ['172.32.0.1', null],
  ['192.168.0.1', 'a private address'],
  ['100.64.0.1', 'a shared (carrier-grade NAT) address'],
  ['169.254.169.254', 'a cloud metadata address (169.254.169.254/32'],
  ['169.254.1.1', 'a link-local address (169.254.0.0/16'],
  ['100.100.100.200', 'a cloud metadata address'],
  ['192.0.2.7', 'a documentation address'],
  ['224.0.0.1', 'a multicast address'],
  ['255.255.255.255', 'a broadcast address'],
  ['::1', 'a loopback address (::1/128'],
  ['[::1]', 'a loopback address'],
  ['fe80::1', 'a link-local address'],
  ['fc00::1', 'a private (unique local) address'],
  ['fd00:ec2::254', 'a cloud metadata address (fd00:ec2::254/128'],
  ['ff02::1', 'a multicast address'],
  ['2001:db8::1', 'a documentation address'],
  ['::ffff:127.0.0.1', 'a loopback address (127.0.0.0/8 Loopback, RFC 1122), as 127.0.0.1 inside ::ffff:0:0/96'],
  ['::ffff:7f00:1', 'a loopback address'],
  ['64:ff9b::a00:1', 'a private address (10.0.0.0/8 Private-Use, RFC 1918), as 10.0.0.1 inside 64:ff9b::/96'],
  [
    '2002:a9fe:a9fe::',
    'a cloud metadata address (169.254.169.254/32 Instance metadata service, AWS, Azure, GCP), as 169.254.169.254 inside 2002::/16',
  ],
  ['2002:808:808::', null],
  ['::', 'an unspecified address'],
  ['4000::1', 'an address outside global unicast (2000::/3)'],
  ['localhost', 'not an IP address'],
  ['example.com', 'not an IP address'],
];

describe('outbound address policy: which addresses a caller-supplied URL may not reach', () => {
  for (const [address, expected] of CASES) {
    it(`${address} → ${expected ?? 'allowed'}`, () => {
      const reason = forbiddenAddressReason(address);
      if (expected === null) assert.equal(reason, null);
      else assert.ok(reason?.startsWith(expected), `${address}: ${reason}`);
    });
  }
});

describe('IPv6 groups: compressed, bracketed, zoned and dotted-quad forms', () => {
  const GROUPS: Array<[string, number[]]> = [
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['[fe80::1%eth0]', [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
    ['2001:db8::', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]],
    ['::ffff:127.0.0.1', [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
  ];
  for (const [address, groups] of GROUPS) {
    it(address, () => assert.deepEqual(ipv6Groups(address), groups));
  }
});
