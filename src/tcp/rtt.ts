/**
 * Retransmission timer computation, RFC 6298 ("Computing TCP's Retransmission Timer").
 *
 * The estimator only does the arithmetic; which ACKs give valid samples is the caller's
 * business (Karn's algorithm, RFC 6298 section 3: never sample a retransmitted segment unless
 * timestamps disambiguate it; RFC 7323 section 4 for timestamp-based samples).
 *
 * All values are milliseconds. `rto` is the value to arm the retransmission timer with: the
 * computed RTO rounded up to minRto, doubled once per `backoff()`, capped at maxRto.
 */

export interface RttOptions {
  /** RTO before the first sample, ms. RFC 6298 section 2.1: 1 second. */
  initialRto: number;
  /** Lower bound, ms. RFC 6298 section 2.4: 1 second; Linux uses 200 ms (TCP_RTO_MIN). */
  minRto: number;
  /** Upper bound, ms. RFC 6298 section 2.5: "at least 60 seconds". */
  maxRto: number;
  /** Clock granularity G, ms (RFC 6298 section 2: "G seconds"). */
  granularity: number;
}

export const DEFAULT_RTT_OPTIONS: RttOptions = Object.freeze({
  initialRto: 1000,
  minRto: 1000,
  maxRto: 60_000,
  granularity: 1,
});

/** RFC 6298 section 2: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
/** Backoffs beyond this only re-clamp to maxRto (avoids 2^n overflowing to Infinity). */
const MAX_BACKOFF_SHIFT = 30;

export class RttEstimator {
  private readonly opts: RttOptions;
  private _hasSample = false;
  private _srtt = 0;
  private _rttvar = 0;
  /** RTO from the estimator, before backoff (RFC 6298 sections 2.1-2.5). */
  private baseRto: number;
  private _backoff = 0;
  private _rto: number;

  constructor(opts?: Partial<RttOptions>) {
    this.opts = { ...DEFAULT_RTT_OPTIONS, ...opts };
    // RFC 6298 2.1: "Until a round-trip time (RTT) measurement has been made ..., the sender
    // SHOULD set RTO <- 1 second" (configurable as initialRto).
    this.baseRto = this.opts.initialRto;
    this._rto = this.clamp(this.baseRto);
  }

  get hasSample(): boolean {
    return this._hasSample;
  }
  /** Smoothed RTT, ms (0 before the first sample). */
  get srtt(): number {
    return this._srtt;
  }
  /** RTT variation, ms (0 before the first sample). */
  get rttvar(): number {
    return this._rttvar;
  }
  /** The RTO to arm the timer with: max(computed RTO, minRto) * 2^backoffCount, capped at maxRto. */
  get rto(): number {
    return this._rto;
  }
  /** Consecutive backoffs since the last resetBackoff(). */
  get backoffCount(): number {
    return this._backoff;
  }

  /** Feed one RTT measurement (ms). Negative or non-finite values are ignored. */
  sample(rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    const r = rttMs;
    if (!this._hasSample) {
      // RFC 6298 2.2: "When the first RTT measurement R is made, the host MUST set
      //   SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)"
      this._srtt = r;
      this._rttvar = r / 2;
      this._hasSample = true;
    } else {
      // RFC 6298 2.3: "When a subsequent RTT measurement R' is made, a host MUST set
      //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
      //   SRTT <- (1 - alpha) * SRTT + alpha * R'
      // The value of SRTT used in the update to RTTVAR is its value before updating SRTT".
      this._rttvar = (1 - BETA) * this._rttvar + BETA * Math.abs(this._srtt - r);
      this._srtt = (1 - ALPHA) * this._srtt + ALPHA * r;
    }
    this.baseRto = this._srtt + Math.max(this.opts.granularity, K * this._rttvar);
    this.recompute();
  }

  /**
   * RFC 6298 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer"). The maximum value
   * discussed in (2.5) above may be used to provide an upper bound to this doubling operation."
   */
  backoff(): void {
    this._backoff++;
    this.recompute();
  }

  /**
   * New data was acknowledged: drop the backoff and return to the computed RTO. This is what
   * Linux does (icsk_backoff = 0 on an ACK of new data); RFC 6298 5.7 keeps the backed-off
   * value only until the next sample, which in practice arrives with the same ACK.
   */
  resetBackoff(): void {
    if (this._backoff === 0) return;
    this._backoff = 0;
    this.recompute();
  }

  private recompute(): void {
    // The computed RTO is rounded up to minRto first (2.4), then backed off (5.5), then capped.
    const shift = Math.min(this._backoff, MAX_BACKOFF_SHIFT);
    this._rto = this.clamp(this.clamp(this.baseRto) * 2 ** shift);
  }

  /**
   * RFC 6298 2.4: "Whenever RTO is computed, if it is less than 1 second, then the RTO SHOULD
   * be rounded up to 1 second" (minRto); 2.5: "A maximum value MAY be placed on RTO provided
   * it is at least 60 seconds" (maxRto).
   */
  private clamp(v: number): number {
    return Math.min(this.opts.maxRto, Math.max(this.opts.minRto, v));
  }
}
