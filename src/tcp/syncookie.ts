/**
 * SYN cookies (RFC 4987 section 3.6), laid out like Linux's net/ipv4/syncookies.c so that a
 * listener under a SYN flood keeps no state until the handshake's ACK returns:
 *
 *     cookie = H1(tuple) + peerIsn + (count << 24) + ((H2(tuple, count) + mssIndex) mod 2^24)
 *
 * - H1, H2: SipHash-2-4 with two independent 128-bit secrets drawn from the Rng at
 *   construction (Linux: siphash with syncookie_secret[0] / [1]).
 * - count: a counter advancing every COOKIE_PERIOD_MS = 64 s (Linux's tcp_cookie_time() is
 *   minute-grained); its low 8 bits ride in the top byte. A cookie is accepted while the
 *   counter is at most MAX_COOKIE_AGE - 1 = 1 period newer than when it was made, i.e. it
 *   lives between 64 and 128 s.
 * - mssIndex: 2 bits into COOKIE_MSS_TABLE, added under the 24-bit H2 so it cannot be changed
 *   without breaking the check (except within the table: like Linux's, the index is additive,
 *   so an attacker who already holds a valid cookie can only pick another table MSS).
 *
 * Forging needs H1 (32 bits) and H2 (24 bits) of an unknown PRF: a random ACK passes with
 * probability about 2/256 * 4/2^24 ~ 2e-9.
 *
 * Options that do not fit the cookie (window scale, SACK-permitted) travel, as in Linux's
 * cookie_init_timestamp(), in the low 6 bits of our TSval when the peer sent timestamps; the
 * peer echoes them back in TSecr.
 */
import type { Clock } from '../core/clock.js';
import type { Rng } from '../core/rng.js';
import { SipHash } from '../core/siphash.js';
import { seq, type Seq } from '../core/seq.js';
import type { FourTuple } from './isn.js';

export type { FourTuple } from './isn.js';

/** Linux msstab for IPv4: the MSS values a cookie can carry. */
export const COOKIE_MSS_TABLE: readonly number[] = Object.freeze([536, 1300, 1440, 1460]);
/** Length of one counter period, ms. */
export const COOKIE_PERIOD_MS = 64_000;
/** Counter periods a cookie stays valid: the current one and the previous one (Linux MAX_SYNCOOKIE_AGE). */
export const MAX_COOKIE_AGE = 2;

const COOKIE_BITS = 24;
const COOKIE_MASK = (1 << COOKIE_BITS) - 1;

// Timestamp option bits (Linux include/net/tcp.h: TSBITS, TS_OPT_*).
const TS_BITS = 6;
const TS_LOW_MASK = (1 << TS_BITS) - 1;
const TS_OPT_WSCALE_MASK = 0xf;
const TS_OPT_SACK = 1 << 4;
const TS_OPT_ECN = 1 << 5;
/** RFC 7323 section 2.3: shift counts above 14 are treated as 14. */
const MAX_WSCALE = 14;

export class SynCookies {
  private readonly clock: Clock;
  private readonly h1: SipHash;
  private readonly h2: SipHash;

  constructor(clock: Clock, rng: Rng) {
    this.clock = clock;
    this.h1 = SipHash.random(rng);
    this.h2 = SipHash.random(rng);
  }

  /** The cookie counter: one step per COOKIE_PERIOD_MS of the Clock. */
  counter(): number {
    return Math.floor(this.clock.now() / COOKIE_PERIOD_MS) >>> 0;
  }

  /**
   * The ISN for a SYN-ACK sent without keeping state. The MSS is rounded down to the table
   * (the largest entry <= peerMss); below 536 the smallest entry, 536, is used (as Linux does:
   * 536 is the IPv4 default every host must accept, RFC 9293 section 3.7.1).
   */
  encode(t: FourTuple, peerIsn: Seq, peerMss: number): { isn: Seq; mss: number } {
    let idx = COOKIE_MSS_TABLE.length - 1;
    while (idx > 0 && !(peerMss >= COOKIE_MSS_TABLE[idx]!)) idx--;
    const count = this.counter();
    const cookie = this.hash1(t) + peerIsn + ((count << COOKIE_BITS) >>> 0) + ((this.hash2(t, count) + idx) & COOKIE_MASK);
    return { isn: seq(cookie), mss: COOKIE_MSS_TABLE[idx]! };
  }

  /**
   * Check the ACK completing the handshake: cookie = SEG.ACK - 1, peerIsn = SEG.SEQ - 1.
   * Returns the encoded MSS, or undefined when the cookie is forged, altered, for another
   * tuple, or older than MAX_COOKIE_AGE counter periods.
   */
  decode(t: FourTuple, peerIsn: Seq, cookie: Seq): number | undefined {
    // Remove H1 and the peer's ISN: left is (count << 24) + ((H2 + index) mod 2^24).
    const c = (cookie - this.hash1(t) - peerIsn) >>> 0;
    const now = this.counter();
    const diff = (now - (c >>> COOKIE_BITS)) & 0xff;
    if (diff >= MAX_COOKIE_AGE) return undefined;
    const idx = (c - this.hash2(t, (now - diff) >>> 0)) & COOKIE_MASK;
    return idx < COOKIE_MSS_TABLE.length ? COOKIE_MSS_TABLE[idx] : undefined;
  }

  /**
   * Linux cookie_init_timestamp(): put the peer's window scale (4 bits; 0xf = none) and
   * SACK-permitted (bit 4) into the low 6 bits of our TSval (bit 5, ECN, stays 0). The value
   * is rounded down, never up, so the TSvals we send later still increase (RFC 7323 section
   * 5.4 needs monotonic TSvals).
   */
  encodeTimestamp(tsval: number, opts: { wscale: number | undefined; sackOk: boolean }): number {
    let bits =
      opts.wscale === undefined ? TS_OPT_WSCALE_MASK : Math.max(0, Math.min(MAX_WSCALE, Math.floor(opts.wscale)));
    if (opts.sackOk) bits |= TS_OPT_SACK;
    let ts = ((tsval & ~TS_LOW_MASK) | bits) >>> 0;
    if (bits > (tsval & TS_LOW_MASK)) ts = (ts - (1 << TS_BITS)) >>> 0;
    return ts;
  }

  /** Linux cookie_timestamp_decode(): the options back from the ACK's TSecr; undefined if the bits cannot be ours. */
  decodeTimestamp(tsecr: number): { wscale: number | undefined; sackOk: boolean } | undefined {
    if ((tsecr & TS_OPT_ECN) !== 0) return undefined;
    const w = tsecr & TS_OPT_WSCALE_MASK;
    return { wscale: w === TS_OPT_WSCALE_MASK ? undefined : w, sackOk: (tsecr & TS_OPT_SACK) !== 0 };
  }

  private hash1(t: FourTuple): number {
    return this.h1.hash3u32(t.localAddr, t.remoteAddr, ports(t));
  }

  private hash2(t: FourTuple, count: number): number {
    return this.h2.hash4u32(t.localAddr, t.remoteAddr, ports(t), count);
  }
}

function ports(t: FourTuple): number {
  return (((t.localPort & 0xffff) << 16) | (t.remotePort & 0xffff)) >>> 0;
}
