/**
 * Token bucket for outgoing ICMP errors (RFC 1122 3.2.2 / RFC 1812 section 4.3.2.8: a
 * host SHOULD limit the rate of ICMP error messages). Numbers as Linux's global limit:
 * net.ipv4.icmp_msgs_per_sec = 1000 tokens per second, icmp_msgs_burst = 50. (Linux
 * also keeps a per-destination limit, icmp_ratelimit; we keep only the global bucket.)
 */
export const ICMP_RATE_PER_SEC = 1000;
export const ICMP_RATE_BURST = 50;

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;

  constructor(perSec: number, burst: number, now: number) {
    this.perMs = perSec / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  /** Take one token if available. */
  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
