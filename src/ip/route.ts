/**
 * Routing for a host with one interface (RFC 1122 section 3.3.1): our address and prefix,
 * and an optional default gateway. A destination in our subnet is on-link; anything else
 * goes to the gateway, or has no route (ENETUNREACH).
 *
 * Address classes follow RFC 1122 section 3.2.1.3 and RFC 1812 section 4.2.2.11:
 * 0.0.0.0/8 "this network", 127.0.0.0/8 loopback, 224.0.0.0/4 multicast, 240.0.0.0/4
 * reserved, 255.255.255.255 limited broadcast. Addresses are host-order u32.
 */
import { LIMITED_BROADCAST, ipToString, isLoopback, isMulticast, isReserved, isThisNetwork, parseIp } from '../core/ipaddr.js';

export { LIMITED_BROADCAST, isLoopback, isMulticast, isReserved, isThisNetwork };

/** Netmask for a prefix length 0..32, as an unsigned number. */
export function prefixMask(prefixLen: number): number {
  return prefixLen <= 0 ? 0 : (0xffffffff << (32 - Math.min(32, prefixLen))) >>> 0;
}

/** Parse "10.77.0.2/24" (a bare address means /32). Undefined for anything malformed. */
export function parseCidr(s: string): { addr: number; prefixLen: number } | undefined {
  const slash = s.indexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (addr === undefined) return undefined;
  if (slash < 0) return { addr, prefixLen: 32 };
  const p = s.slice(slash + 1);
  if (!/^\d{1,2}$/.test(p)) return undefined;
  const prefixLen = Number(p);
  if (prefixLen > 32) return undefined;
  return { addr, prefixLen };
}

export interface RouteConfig {
  addr: number;
  prefixLen: number;
  gateway?: number;
}

export class Ipv4Route {
  readonly addr: number;
  readonly prefixLen: number;
  readonly mask: number;
  readonly network: number;
  /** Subnet-directed broadcast; undefined for /31 and /32 (RFC 3021: no broadcast on /31). */
  readonly broadcast: number | undefined;
  readonly gateway: number | undefined;

  /** Throws RangeError for an unusable configuration (it is set up by a person, not the wire). */
  constructor(cfg: RouteConfig) {
    const { addr, prefixLen, gateway } = cfg;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) {
      throw new RangeError(`prefix length ${prefixLen} is not 0..32`);
    }
    if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) throw new RangeError(`bad address ${addr}`);
    this.addr = addr >>> 0;
    if (isThisNetwork(this.addr) || isLoopback(this.addr) || isMulticast(this.addr) || isReserved(this.addr)) {
      throw new RangeError(`${ipToString(this.addr)} is not a unicast host address`);
    }
    this.prefixLen = prefixLen;
    this.mask = prefixMask(prefixLen);
    this.network = (this.addr & this.mask) >>> 0;
    this.broadcast = prefixLen >= 31 ? undefined : (this.network | ~this.mask) >>> 0;
    if (this.broadcast !== undefined && (this.addr === this.broadcast || this.addr === this.network)) {
      throw new RangeError(`${ipToString(this.addr)}/${prefixLen} is the network or broadcast address of its subnet`);
    }
    if (gateway !== undefined) {
      const gw = gateway >>> 0;
      if (!this.isOnLink(gw) || gw === this.addr || gw === this.broadcast || this.isSubnetZero(gw)) {
        throw new RangeError(`gateway ${ipToString(gw)} is not a host on ${ipToString(this.network)}/${prefixLen}`);
      }
      this.gateway = gw;
    } else {
      this.gateway = undefined;
    }
  }

  /** In our subnet. */
  isOnLink(a: number): boolean {
    return ((a & this.mask) >>> 0) === this.network;
  }

  /** Delivered to ourselves without touching the link: our address or 127.0.0.0/8. */
  isLocal(a: number): boolean {
    return a === this.addr || isLoopback(a);
  }

  /** {<subnet>, 0}: the old all-zeros broadcast form (RFC 1122 3.2.1.3, 3.3.6). */
  private isSubnetZero(a: number): boolean {
    return this.broadcast !== undefined && a === this.network;
  }

  /**
   * A broadcast destination we accept: limited broadcast, the subnet-directed broadcast,
   * and (RFC 1122 3.2.1.3: hosts SHOULD recognize the non-standard forms that use 0
   * instead of -1) the all-zeros subnet address. Only for receiving; we send with -1.
   */
  isBroadcast(a: number): boolean {
    return a === LIMITED_BROADCAST || a === this.broadcast || this.isSubnetZero(a);
  }

  /**
   * RFC 1122 3.2.1.3 / 3.2.2: a source address that names exactly one host: not 0.0.0.0/8,
   * loopback (from the wire), broadcast, multicast or class E. ICMP errors go only to such sources.
   */
  isUnicastSource(a: number): boolean {
    return !(isThisNetwork(a) || isLoopback(a) || isMulticast(a) || isReserved(a) || this.isBroadcast(a));
  }

  /**
   * The neighbour to hand a datagram for `dst` to:
   * - local (our address, 127/8): `dst` itself; the caller delivers it locally (check isLocal first);
   * - limited or subnet-directed broadcast: 255.255.255.255 (link broadcast, no ARP);
   * - on-link: `dst`;
   * - otherwise the default gateway, or undefined (no route: ENETUNREACH).
   * 0.0.0.0/8, multicast and class E destinations have no route (no multicast support).
   */
  nextHop(dst: number): number | undefined {
    if (this.isLocal(dst)) return dst;
    if (dst === LIMITED_BROADCAST || dst === this.broadcast) return LIMITED_BROADCAST;
    if (isThisNetwork(dst) || isMulticast(dst) || isReserved(dst)) return undefined;
    if (this.isOnLink(dst)) return this.isSubnetZero(dst) ? undefined : dst;
    return this.gateway;
  }

  toString(): string {
    const gw = this.gateway === undefined ? '' : ` via ${ipToString(this.gateway)}`;
    return `${ipToString(this.addr)}/${this.prefixLen}${gw}`;
  }
}
