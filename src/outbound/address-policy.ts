import { isIP } from 'node:net';

/**
 * Which addresses an outbound request may not reach unless its host is allow-listed: anything
 * that is not the public internet (RFC 6890 special-purpose ranges), so a caller-supplied URL
 * cannot reach Warden's own network, its database or a cloud metadata service.
 */
const IPV4_RANGES: ReadonlyArray<readonly [string, number, string]> = [
  ['169.254.169.254', 32, 'a cloud metadata address'],
  ['100.100.100.200', 32, 'a cloud metadata address'],
  ['0.0.0.0', 8, 'an unspecified address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.88.99.0', 24, 'a 6to4 relay address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];

function ipv4Number(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

const IPV4_TABLE = IPV4_RANGES.map(([base, bits, reason]) => ({ start: ipv4Number(base), size: 2 ** (32 - bits), reason }));

function ipv4Reason(address: string): string | null {
  const value = ipv4Number(address);
  return IPV4_TABLE.find((range) => value >= range.start && value < range.start + range.size)?.reason ?? null;
}

/** The eight 16-bit groups of an IPv6 address (compressed or with a trailing dotted quad). */
export function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/^\[|\]$/g, '').split('%')[0]!;
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const first = head ? head.split(':') : [];
  const last = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - first.length - last.length).fill('0');
  return [...first, ...zeros, ...last].map((group) => parseInt(group, 16));
}

function ipv4Of(high: number, low: number): string {
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

function ipv6Reason(address: string): string | null {
  const g = ipv6Groups(address);
  const zeroUntil = (end: number) => g.slice(0, end).every((group) => group === 0);
  if (zeroUntil(8)) return 'an unspecified address';
  if (zeroUntil(7) && g[7] === 1) return 'a loopback address';
  // IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96): judge the IPv4 address.
  if (zeroUntil(5) && (g[5] === 0xffff || g[5] === 0)) return ipv4Reason(ipv4Of(g[6]!, g[7]!));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((group) => group === 0)) return ipv4Reason(ipv4Of(g[6]!, g[7]!));
  if (g[0] === 0x2002) return ipv4Reason(ipv4Of(g[1]!, g[2]!)); // 6to4 carries an IPv4 address
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((group) => group === 0) && g[7] === 0x254) return 'a cloud metadata address';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'a private (unique local) address';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((g[0]! & 0xff00) === 0xff00) return 'a multicast address';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'a documentation address';
  if (g[0] === 0x0100 && g.slice(1, 4).every((group) => group === 0)) return 'a discard-only address';
  return null;
}

/** Why the address may not be reached (e.g. "a loopback address"), or null for a public address. */
export function forbiddenAddressReason(address: string): string | null {
  const version = isIP(address.replace(/^\[|\]$/g, ''));
  if (version === 4) return ipv4Reason(address);
  if (version === 6) return ipv6Reason(address);
  return 'not an IP address';
}
