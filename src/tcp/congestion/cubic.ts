/**
 * CUBIC, RFC 9438 ("CUBIC for Fast and Long-Distance Networks").
 *
 * Windows in the RFC's formulas are in segments (SMSS units) and time in seconds; here cwnd
 * stays in bytes and is converted at the edges. Slow start, the restart window and the ABC
 * limit are inherited from NewReno (RFC 9438 section 4.10 allows standard slow start; HyStart++
 * is not implemented). Spurious-congestion undo (section 4.9) is not implemented.
 *
 * Section 4.2, the window growth function, with t the time since the start of the current
 * congestion avoidance stage ("epoch") and K the time to climb back to W_max:
 *
 *     W_cubic(t) = C * (t - K)^3 + W_max            (Figure 1)
 *     K = cubic_root((W_max - cwnd_epoch) / C)      (Figure 2)
 *
 * with C = 0.4 and beta_cubic = 0.7 (section 5.1 / 4.6).
 */
import type { CongestionName } from '../api.js';
import { NewReno } from './newreno.js';

/** RFC 9438 section 4.2 / 5: C = 0.4. */
export const CUBIC_C = 0.4;
/** RFC 9438 section 4.6: beta_cubic = 0.7. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 section 4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

export class Cubic extends NewReno {
  override readonly name: CongestionName = 'cubic';
  /** W_max, segments: the window before the last reduction (0: no congestion event yet). */
  private _wMax = 0;
  /** K, seconds. */
  private _k = 0;
  /** Start of the current congestion avoidance stage, ms; undefined until its first ACK. */
  private epochStart: number | undefined = undefined;
  /** cwnd_epoch, segments. */
  private cwndEpoch = 0;
  /** cwnd_prior, segments: cwnd just before the last reduction (section 4.6). */
  private cwndPrior = 0;
  /** W_est, segments (section 4.3). */
  private _wEst = 0;
  /** The next congestion avoidance stage follows a timeout (section 4.8). */
  private afterRto = false;
  /** Growth below one byte, carried to the next ACK so cwnd stays an integer. */
  private carry = 0;
  /** Which rule set cwnd on the last congestion avoidance ACK (for tests and TCP_INFO-like output). */
  region: 'reno-friendly' | 'concave' | 'convex' | 'none' = 'none';

  get wMax(): number {
    return this._wMax;
  }
  get k(): number {
    return this._k;
  }
  get wEst(): number {
    return this._wEst;
  }

  override init(mss: number, now: number): void {
    super.init(mss, now);
    this._wMax = 0;
    this._k = 0;
    this.epochStart = undefined;
    this.cwndPrior = 0;
    this.afterRto = false;
    this.carry = 0;
    this.region = 'none';
  }

  override setMss(mss: number): void {
    // W_max, W_est and cwnd_epoch are in segments already; only the epoch needs a restart.
    super.setMss(mss);
    this.epochStart = undefined;
  }

  /** The cubic window at t seconds into the epoch (Figure 1), segments. */
  wCubic(t: number): number {
    const d = t - this._k;
    return CUBIC_C * d * d * d + this._wMax;
  }

  protected override congestionAvoidance(acked: number, now: number, srtt: number): void {
    const mss = this.mss;
    let cwnd = this.cwnd / mss;
    if (this.epochStart === undefined) this.startEpoch(now, cwnd);
    const t = (now - this.epochStart!) / 1000;
    const rtt = srtt > 0 ? srtt / 1000 : 0;
    const segAcked = acked / mss;

    // Section 4.3: "W_est = W_est + alpha_cubic * segments_acked / cwnd" and "Once W_est has
    // grown to reach the cwnd at the time of most recently setting ssthresh -- that is, W_est
    // >= cwnd_prior -- the sender SHOULD set alpha_cubic to 1".
    const alpha = this._wEst >= this.cwndPrior ? 1 : CUBIC_ALPHA;
    this._wEst += (alpha * segAcked) / cwnd;

    let next: number;
    if (this.wCubic(t) < this._wEst) {
      // Section 4.3: "If W_cubic(t) is less than W_est, then CUBIC is in the Reno-friendly
      // region and cwnd SHOULD be set to W_est at each reception of a new ACK."
      this.region = 'reno-friendly';
      next = Math.max(cwnd, this._wEst);
    } else {
      // Sections 4.4 / 4.5: target = W_cubic(t + RTT), kept within [cwnd, 1.5 * cwnd]; "cwnd
      // MUST be incremented by (target - cwnd) / cwnd for each received new ACK" (per SMSS
      // acknowledged, since ACKs may cover several segments).
      this.region = this.wCubic(t) < this._wMax ? 'concave' : 'convex';
      let target = this.wCubic(t + rtt);
      if (target < cwnd) target = cwnd;
      else if (target > 1.5 * cwnd) target = 1.5 * cwnd;
      next = cwnd + ((target - cwnd) / cwnd) * segAcked;
    }
    // cwnd stays an integer number of bytes; sub-byte growth is carried over.
    const grow = (next - cwnd) * mss + this.carry;
    const whole = Math.floor(grow);
    this.carry = grow - whole;
    cwnd = this.cwnd + whole;
    this.cwnd = cwnd;
  }

  /**
   * The first ACK of a congestion avoidance stage. Section 4.2: t counts from here and
   * K = cubic_root((W_max - cwnd_epoch) / C). Section 4.8: after a timeout "K is set to 0, and
   * W_max is set to the congestion window size at the beginning of the current congestion
   * avoidance stage"; the same is done (as in Linux) when there has been no congestion event
   * or cwnd is already above W_max. Section 4.3: W_est starts at cwnd_epoch.
   */
  private startEpoch(now: number, cwnd: number): void {
    this.epochStart = now;
    this.cwndEpoch = cwnd;
    if (this.afterRto || this._wMax <= cwnd) {
      this._wMax = cwnd;
      this._k = 0;
      this.afterRto = false;
    } else {
      this._k = Math.cbrt((this._wMax - cwnd) / CUBIC_C);
    }
    this._wEst = cwnd;
    this.carry = 0;
  }

  /**
   * Section 4.6, multiplicative decrease:
   *     ssthresh = flight_size * beta_cubic; cwnd_prior = cwnd;
   *     cwnd = max(ssthresh, 2); ssthresh = max(ssthresh, 2)   (segments)
   * Section 4.7, fast convergence: "if cwnd < W_max and fast convergence enabled, further
   * reduce W_max: W_max = cwnd * (1 + beta_cubic) / 2; otherwise W_max = cwnd" (cwnd before
   * the reduction).
   */
  override onLoss(inFlight: number, _now: number): void {
    const cwnd = this.cwnd / this.mss;
    this._wMax = cwnd < this._wMax ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    this.cwndPrior = cwnd;
    this.ssthresh = this.cubicThreshold(inFlight);
    this.cwnd = this.ssthresh;
    this.epochStart = undefined;
    this.afterRto = false;
    this.bytesAcked = 0;
  }

  override onRecoveryEnd(now: number): void {
    super.onRecoveryEnd(now);
    // t counts from the start of congestion avoidance, i.e. the first ACK after recovery.
    this.epochStart = undefined;
  }

  /**
   * Section 4.8: "In the case of a timeout, CUBIC follows Reno to reduce cwnd [RFC5681] but
   * sets ssthresh using beta_cubic (same as in Section 4.6)"; the next congestion avoidance
   * stage starts with K = 0 and W_max = W_est = cwnd at its beginning (see startEpoch).
   */
  override onRto(inFlight: number, _now: number): void {
    this.cwndPrior = this.cwnd / this.mss;
    this.ssthresh = this.cubicThreshold(inFlight);
    this.cwnd = this.mss;
    this.epochStart = undefined;
    this.afterRto = true;
    this.bytesAcked = 0;
  }

  override onIdleRestart(now: number, rto: number): void {
    super.onIdleRestart(now, rto);
    // An idle period is not congestion avoidance time: restart the epoch (K is recomputed
    // from W_max and the restart window at the next ACK).
    this.epochStart = undefined;
  }

  /** max(flight_size * beta_cubic, 2*SMSS), bytes. */
  private cubicThreshold(inFlight: number): number {
    const flight = inFlight > 0 ? inFlight : 0;
    // flight * 7 / 10 rather than flight * 0.7, which is not exact in binary floating point.
    return Math.max(Math.floor((flight * 7) / 10), 2 * this.mss);
  }
}
