/**
 * Initial sequence numbers, RFC 6528 ("Defending against Sequence Number Attacks"), section 3:
 *
 *     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 *   "where M is the 4 microsecond timer, and F() is a pseudorandom function (PRF) of the
 *    connection-id. F() MUST NOT be computable from the outside, or an attacker could still
 *    guess at sequence numbers from the ISN used for some other connection."
 *
 * M comes from the injected Clock (ms, fractional allowed) as floor(now * 250), i.e. one tick
 * per 4 us, modulo 2^32 (it wraps about every 4.77 hours, as RFC 9293 section 3.4.1 describes).
 * F is SipHash-2-4 keyed with 128 random bits drawn once from the Rng at construction (RFC 6528
 * section 3: "the secret key ... SHOULD be of at least 128 bits"), over the 12-byte
 * connection-id (localAddr, remoteAddr, localPort << 16 | remotePort) — the same inputs Linux
 * feeds `secure_tcp_seq()`.
 *
 * Consequences: for one 4-tuple the ISN advances with time at the RFC's rate (so a new
 * incarnation's ISN is above the old one's, which is what lets TIME-WAIT be reused), while two
 * tuples at the same instant get unrelated offsets.
 */
import type { Clock } from '../core/clock.js';
import type { Rng } from '../core/rng.js';
import { SipHash } from '../core/siphash.js';
import { seq, type Seq } from '../core/seq.js';

/** A TCP connection-id. Addresses are IPv4 as unsigned 32-bit numbers; ports 0..65535. */
export interface FourTuple {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
}

/** Ticks of M per millisecond: one tick every 4 microseconds (RFC 6528 section 3). */
export const ISN_TICKS_PER_MS = 250;

export class IsnGenerator {
  private readonly clock: Clock;
  private readonly prf: SipHash;

  constructor(clock: Clock, rng: Rng) {
    this.clock = clock;
    this.prf = SipHash.random(rng);
  }

  /** RFC 6528 section 3: ISN = M + F(4-tuple, secret). */
  next(t: FourTuple): Seq {
    const m = Math.floor(this.clock.now() * ISN_TICKS_PER_MS) % 0x1_0000_0000;
    const f = this.prf.hash3u32(t.localAddr, t.remoteAddr, ((t.localPort & 0xffff) << 16) | (t.remotePort & 0xffff));
    return seq(m + f);
  }
}
