import { isIP } from 'node:net';
import { IPV4_SPECIAL_PURPOSE, IPV6_SPECIAL_PURPOSE, type SpecialPurposeBlock } from './special-purpose-addresses';

/**
 * Which addresses an outbound request may not reach unless its host is allow-listed: anything in
 * the special-purpose registries (`special-purpose-addresses.ts`) and, for IPv6, anything outside
 * global unicast, so a caller-supplied URL cannot reach Warden's own network, its database or a
 * cloud metadata service.
 */
interface Range {
  block: SpecialPurposeBlock;
  base: bigint;
  bits: number;
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** The eight 16-bit groups of an IPv6 address (compressed or with a trailing dotted quad). */
export function ipv6Groups(address: string): number[] {
  let text = address
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .split('%')[0]!;
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

function ipv6Value(address: string): bigint {
  return ipv6Groups(address).reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** Most specific block first, so an address is named by the narrowest block that holds it. */
function ranges(blocks: readonly SpecialPurposeBlock[], value: (address: string) => bigint): Range[] {
  return blocks
    .map((block) => {
      const [base, bits] = block.prefix.split('/') as [string, string];
      return { block, base: value(base), bits: Number(bits) };
    })
    .sort((a, b) => b.bits - a.bits);
}

const IPV4 = ranges(IPV4_SPECIAL_PURPOSE, ipv4Value);
const IPV6 = ranges(IPV6_SPECIAL_PURPOSE, ipv6Value);

function find(table: Range[], width: number, value: bigint): Range | undefined {
  return table.find((range) => value >> BigInt(width - range.bits) === range.base >> BigInt(width - range.bits));
}

function describe({ block }: Range): string {
  return `${block.kind} (${block.prefix} ${block.name}, ${block.source})`;
}

function ipv4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
}

function ipv4Reason(value: bigint): string | null {
  const range = find(IPV4, 32, value);
  return range ? describe(range) : null;
}

function ipv6Reason(value: bigint): string | null {
  const range = find(IPV6, 128, value);
  if (range?.block.embeddedIpv4 !== undefined) {
    const ipv4 = (value >> BigInt(96 - range.block.embeddedIpv4)) & 0xffffffffn;
    const reason = ipv4Reason(ipv4);
    return reason && `${reason}, as ${ipv4Text(ipv4)} inside ${range.block.prefix} ${range.block.name}`;
  }
  if (range) return describe(range);
  // 2000::/3 is all IANA has allocated for global unicast; the rest is reserved or unassigned.
  if (value >> 125n !== 1n) return 'an address outside global unicast (2000::/3)';
  return null;
}

/** Why the address may not be reached (e.g. "a loopback address (127.0.0.0/8 …)"), or null for a public address. */
export function forbiddenAddressReason(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const version = isIP(bare);
  if (version === 4) return ipv4Reason(ipv4Value(bare));
  if (version === 6) return ipv6Reason(ipv6Value(bare));
  return 'not an IP address';
}
