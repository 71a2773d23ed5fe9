/**
 * Path MTU cache (RFC 1191). Destination -> learned MTU, lowered by ICMP "fragmentation
 * needed" messages and forgotten after `expiresMs` (RFC 1191 section 6.3 suggests
 * re-probing after about 10 minutes; Linux ip_rt_mtu_expires is 600 s). Expiry is checked
 * lazily on lookup, so no timer is needed. The cache is bounded: spoofed ICMP cannot
 * grow it without limit (the oldest entry is dropped).
 */
import { IPV4_MIN_MTU } from './ipv4.js';

export const PMTU_EXPIRES_MS = 10 * 60 * 1000;
export const PMTU_MAX_ENTRIES = 1024;

/**
 * RFC 1191 section 7 "plateau" table, used when a router sends a Datagram Too Big
 * message with no next-hop MTU (pre-RFC 1191 routers).
 */
const PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, IPV4_MIN_MTU] as const;

/** The largest plateau strictly below `totalLength` (RFC 1191 section 5). */
export function plateauBelow(totalLength: number): number {
  for (const p of PLATEAUS) if (p < totalLength) return p;
  return IPV4_MIN_MTU;
}

interface Entry {
  mtu: number;
  expires: number;
}

export class PmtuCache {
  private readonly entries = new Map<number, Entry>();
  private readonly expiresMs: number;
  private readonly maxEntries: number;

  constructor(expiresMs = PMTU_EXPIRES_MS, maxEntries = PMTU_MAX_ENTRIES) {
    this.expiresMs = expiresMs;
    this.maxEntries = maxEntries;
  }

  /** The learned MTU toward dst, or undefined (none, or expired). */
  get(dst: number, now: number): number | undefined {
    if (this.entries.size === 0) return undefined; // the common case, on every send
    const e = this.entries.get(dst);
    if (e === undefined) return undefined;
    if (now >= e.expires) {
      this.entries.delete(dst);
      return undefined;
    }
    return e.mtu;
  }

  /**
   * Apply a Datagram Too Big report. `current` is the MTU in use toward dst; `reported`
   * the message's next-hop MTU (0 from old routers); `quotedTotalLength` the Total
   * Length of our datagram as quoted. Returns the MTU adopted, or undefined when the
   * report would not lower it.
   */
  update(dst: number, current: number, reported: number, quotedTotalLength: number, now: number): number | undefined {
    let mtu = reported;
    // RFC 1191 section 5: a zero (or bogus, not smaller than what we sent) next-hop MTU:
    // guess the next plateau below the datagram's length.
    if (mtu === 0 || mtu >= quotedTotalLength) mtu = plateauBelow(quotedTotalLength);
    // RFC 1191 section 3: a host MUST never reduce its estimate below 68 octets.
    if (mtu < IPV4_MIN_MTU) mtu = IPV4_MIN_MTU;
    // RFC 1191 section 3: ... and MUST NOT increase it in response to a Datagram Too Big.
    if (mtu >= current) return undefined;
    this.entries.delete(dst);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(dst, { mtu, expires: now + this.expiresMs });
    return mtu;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
