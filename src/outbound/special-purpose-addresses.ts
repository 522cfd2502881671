/**
 * The IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890, as of 2025), plus the
 * blocks they leave to other registries that an outbound call must not reach either (multicast,
 * limited broadcast, deprecated IPv6 forms) and the cloud metadata addresses, named so that a
 * refusal says what was hit.
 *
 * Every row is refused, including those the registry marks globally reachable (anycast relays,
 * AS112, AMT, ORCHID, …): they are infrastructure services, never a SIEM intake, so refusing them
 * costs nothing and keeps the rule simple. The one exception is a row with `embeddedIpv4`: its
 * addresses carry an IPv4 address (mapped, NAT64, 6to4) and are judged by that address instead,
 * so `::ffff:8.8.8.8` passes and `::ffff:127.0.0.1` does not.
 */
export interface SpecialPurposeBlock {
  prefix: string;
  /** The registry's name for the block. */
  name: string;
  /** Where the block is defined. */
  source: string;
  /** The registry's "Globally Reachable" column; null where it says N/A or the block is not in it. */
  globallyReachable: boolean | null;
  /** What a refusal calls an address in the block ("is a loopback address"). */
  kind: string;
  /** Bit offset of an embedded IPv4 address: the block is judged by that address, not refused outright. */
  embeddedIpv4?: number;
}

type Row = [prefix: string, name: string, source: string, globallyReachable: boolean | null, kind: string, embeddedIpv4?: number];

const block = ([prefix, name, source, globallyReachable, kind, embeddedIpv4]: Row): SpecialPurposeBlock => ({
  prefix,
  name,
  source,
  globallyReachable,
  kind,
  ...(embeddedIpv4 === undefined ? {} : { embeddedIpv4 }),
});

const METADATA = 'a cloud metadata address';

export const IPV4_SPECIAL_PURPOSE: readonly SpecialPurposeBlock[] = (
  [
    ['0.0.0.0/8', '"This network"', 'RFC 791', false, 'an unspecified address'],
    ['0.0.0.0/32', '"This host on this network"', 'RFC 1122', false, 'an unspecified address'],
    ['10.0.0.0/8', 'Private-Use', 'RFC 1918', false, 'a private address'],
    ['100.64.0.0/10', 'Shared Address Space', 'RFC 6598', false, 'a shared (carrier-grade NAT) address'],
    ['100.100.100.200/32', 'Alibaba Cloud instance metadata', 'Alibaba Cloud', false, METADATA],
    ['127.0.0.0/8', 'Loopback', 'RFC 1122', false, 'a loopback address'],
    ['169.254.0.0/16', 'Link Local', 'RFC 3927', false, 'a link-local address'],
    ['169.254.169.254/32', 'Instance metadata service', 'AWS, Azure, GCP', false, METADATA],
    ['172.16.0.0/12', 'Private-Use', 'RFC 1918', false, 'a private address'],
    ['192.0.0.0/24', 'IETF Protocol Assignments', 'RFC 6890', false, 'an IETF protocol address'],
    ['192.0.0.0/29', 'IPv4 Service Continuity Prefix', 'RFC 7335', false, 'an IETF protocol address'],
    ['192.0.0.8/32', 'IPv4 dummy address', 'RFC 7600', false, 'an IETF protocol address'],
    ['192.0.0.9/32', 'Port Control Protocol Anycast', 'RFC 7723', true, 'an anycast service address'],
    ['192.0.0.10/32', 'Traversal Using Relays around NAT Anycast', 'RFC 8155', true, 'an anycast service address'],
    ['192.0.0.170/32', 'NAT64/DNS64 Discovery', 'RFC 8880', false, 'an IETF protocol address'],
    ['192.0.0.171/32', 'NAT64/DNS64 Discovery', 'RFC 8880', false, 'an IETF protocol address'],
    ['192.0.2.0/24', 'Documentation (TEST-NET-1)', 'RFC 5737', false, 'a documentation address'],
    ['192.31.196.0/24', 'AS112-v4', 'RFC 7535', true, 'an anycast service address'],
    ['192.52.193.0/24', 'AMT', 'RFC 7450', true, 'an anycast service address'],
    ['192.88.99.0/24', 'Deprecated (6to4 Relay Anycast)', 'RFC 7526', null, 'a 6to4 relay address'],
    ['192.88.99.2/32', '6a44-relay anycast address', 'RFC 6751', false, 'a 6to4 relay address'],
    ['192.168.0.0/16', 'Private-Use', 'RFC 1918', false, 'a private address'],
    ['192.175.48.0/24', 'Direct Delegation AS112 Service', 'RFC 7534', true, 'an anycast service address'],
    ['198.18.0.0/15', 'Benchmarking', 'RFC 2544', false, 'a benchmarking address'],
    ['198.51.100.0/24', 'Documentation (TEST-NET-2)', 'RFC 5737', false, 'a documentation address'],
    ['203.0.113.0/24', 'Documentation (TEST-NET-3)', 'RFC 5737', false, 'a documentation address'],
    ['224.0.0.0/4', 'Multicast', 'RFC 5771', null, 'a multicast address'],
    ['240.0.0.0/4', 'Reserved', 'RFC 1112', false, 'a reserved address'],
    ['255.255.255.255/32', 'Limited Broadcast', 'RFC 919', false, 'a broadcast address'],
  ] satisfies Row[]
).map(block);

export const IPV6_SPECIAL_PURPOSE: readonly SpecialPurposeBlock[] = (
  [
    ['::/128', 'Unspecified Address', 'RFC 4291', false, 'an unspecified address'],
    ['::1/128', 'Loopback Address', 'RFC 4291', false, 'a loopback address'],
    ['::/96', 'IPv4-Compatible Address (deprecated)', 'RFC 4291', null, 'a deprecated IPv4-compatible address'],
    ['::ffff:0:0/96', 'IPv4-mapped Address', 'RFC 4291', false, 'an IPv4-mapped address', 96],
    ['::ffff:0:0:0/96', 'IPv4-translated Address', 'RFC 2765', null, 'an IPv4-translated address'],
    ['64:ff9b::/96', 'IPv4-IPv6 Translation', 'RFC 6052', true, 'a NAT64 address', 96],
    ['64:ff9b:1::/48', 'IPv4-IPv6 Translation (local use)', 'RFC 8215', false, 'a local-use NAT64 address'],
    ['100::/64', 'Discard-Only Address Block', 'RFC 6666', false, 'a discard-only address'],
    ['100:0:0:1::/64', 'Dummy IPv6 Prefix', 'RFC 9780', false, 'a dummy address'],
    ['2001::/23', 'IETF Protocol Assignments', 'RFC 2928', false, 'an IETF protocol address'],
    ['2001::/32', 'TEREDO', 'RFC 4380', null, 'a Teredo address'],
    ['2001:1::1/128', 'Port Control Protocol Anycast', 'RFC 7723', true, 'an anycast service address'],
    ['2001:1::2/128', 'Traversal Using Relays around NAT Anycast', 'RFC 8155', true, 'an anycast service address'],
    ['2001:1::3/128', 'DNS-SD Service Registration Protocol Anycast', 'RFC 9665', true, 'an anycast service address'],
    ['2001:2::/48', 'Benchmarking', 'RFC 5180', false, 'a benchmarking address'],
    ['2001:3::/32', 'AMT', 'RFC 7450', true, 'an anycast service address'],
    ['2001:4:112::/48', 'AS112-v6', 'RFC 7535', true, 'an anycast service address'],
    ['2001:10::/28', 'Deprecated (previously ORCHID)', 'RFC 4843', null, 'an overlay identifier'],
    ['2001:20::/28', 'ORCHIDv2', 'RFC 7343', true, 'an overlay identifier'],
    ['2001:30::/28', 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', 'RFC 9374', true, 'an overlay identifier'],
    ['2001:db8::/32', 'Documentation', 'RFC 3849', false, 'a documentation address'],
    ['2002::/16', '6to4', 'RFC 3056', null, 'a 6to4 address', 16],
    ['2620:4f:8000::/48', 'Direct Delegation AS112 Service', 'RFC 7534', true, 'an anycast service address'],
    ['3fff::/20', 'Documentation', 'RFC 9637', false, 'a documentation address'],
    ['5f00::/16', 'Segment Routing (SRv6) SIDs', 'RFC 9602', false, 'a segment routing identifier'],
    ['fc00::/7', 'Unique-Local', 'RFC 4193', false, 'a private (unique local) address'],
    ['fd00:ec2::254/128', 'AWS instance metadata service', 'AWS', false, METADATA],
    ['fe80::/10', 'Link-Local Unicast', 'RFC 4291', false, 'a link-local address'],
    ['fec0::/10', 'Site-Local (deprecated)', 'RFC 3879', null, 'a site-local address'],
    ['ff00::/8', 'Multicast', 'RFC 4291', null, 'a multicast address'],
  ] satisfies Row[]
).map(block);
