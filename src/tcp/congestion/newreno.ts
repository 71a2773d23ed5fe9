/**
 * NewReno window arithmetic: RFC 5681 (slow start, congestion avoidance, the loss and restart
 * windows) with Appropriate Byte Counting (RFC 3465), and the window settings RFC 6582 asks
 * for at the edges of fast recovery. The recovery procedure itself (fast retransmit, partial
 * ACKs, window inflation) lives in the TCP engine; this class only sets cwnd and ssthresh.
 *
 * The slow-start and restart logic is shared with CUBIC, which extends this class and
 * replaces congestion avoidance and the reductions.
 */
import type { CongestionName } from '../api.js';
import { INITIAL_SSTHRESH, initialWindow, type CongestionControl } from './types.js';

/** RFC 3465 section 2.2: in slow start cwnd grows by at most L*SMSS per ACK, L = 2. */
export const ABC_L = 2;

export class NewReno implements CongestionControl {
  readonly name: CongestionName = 'newreno';
  cwnd = 0;
  ssthresh = INITIAL_SSTHRESH;
  /** SMSS, bytes. */
  protected mss = 536;
  /** Congestion avoidance byte counter (RFC 5681 section 3.1 / RFC 3465 section 2.1). */
  protected bytesAcked = 0;

  init(mss: number, _now: number): void {
    this.mss = mss;
    // RFC 6928 section 2: IW = min (10*MSS, max (2*MSS, 14600)).
    this.cwnd = initialWindow(mss);
    this.ssthresh = INITIAL_SSTHRESH;
    this.bytesAcked = 0;
  }

  setMss(mss: number): void {
    if (!(mss > 0) || mss === this.mss) return;
    const f = mss / this.mss;
    this.cwnd = Math.max(mss, Math.round(this.cwnd * f));
    if (this.ssthresh !== INITIAL_SSTHRESH) this.ssthresh = Math.max(2 * mss, Math.round(this.ssthresh * f));
    this.bytesAcked = Math.round(this.bytesAcked * f);
    this.mss = mss;
  }

  onAck(ackedBytes: number, now: number, srtt: number, inFlight: number): void {
    if (!(ackedBytes > 0)) return;
    // RFC 7661 (and Linux's tcp_is_cwnd_limited): do not grow a window the sender does not
    // use. The window counts as used while FlightSize (plus what this ACK covered) is at
    // least half of it — RFC 7661's "validated" test, pipeACK >= cwnd/2.
    if (inFlight >= 0 && 2 * (inFlight + ackedBytes) < this.cwnd) return;
    let acked = ackedBytes;
    if (this.cwnd < this.ssthresh) {
      // RFC 5681 section 3.1: "During slow start, a TCP increments cwnd by at most SMSS bytes
      // for each ACK received that cumulatively acknowledges new data"; RFC 3465 section 2.2:
      // "cwnd += min (N, L*SMSS)" with L = 2*SMSS.
      const inc = Math.min(acked, ABC_L * this.mss);
      const room = this.ssthresh - this.cwnd;
      if (inc <= room) {
        this.cwnd += inc;
        return;
      }
      // Reaching ssthresh mid-ACK: the rest of the ACK counts toward congestion avoidance
      // (as Linux's tcp_slow_start returns the leftover).
      this.cwnd = this.ssthresh;
      acked = inc - room;
    }
    this.congestionAvoidance(acked, now, srtt);
  }

  /**
   * RFC 5681 section 3.1: "The RECOMMENDED way to increase cwnd during congestion avoidance is
   * to count the number of bytes that have been acknowledged by ACKs for new data ... When the
   * number of bytes acknowledged reaches cwnd, then cwnd can be incremented by up to SMSS
   * bytes" (RFC 3465 section 2.1). With one ACK per segment this is the same average growth
   * as cwnd += SMSS*SMSS/cwnd per ACK (equation 3), and it stays at 1 SMSS per RTT with
   * delayed or stretch ACKs, where equation 3 would fall behind.
   */
  protected congestionAvoidance(acked: number, _now: number, _srtt: number): void {
    this.bytesAcked += acked;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  /**
   * RFC 5681 section 3.2 step 2 (via RFC 6582 section 3.2 step 2):
   *   ssthresh = max (FlightSize / 2, 2*SMSS)            (4)
   * cwnd = ssthresh here; the "+3*SMSS" inflation of step 3 is the engine's.
   */
  onLoss(inFlight: number, _now: number): void {
    this.ssthresh = this.lossThreshold(inFlight);
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  /**
   * RFC 6582 section 3.2 step 3, full acknowledgment: "Set cwnd to either (1) min (ssthresh,
   * max(FlightSize, SMSS) + SMSS) or (2) ssthresh" — option (2).
   */
  onRecoveryEnd(_now: number): void {
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  /**
   * RFC 5681 section 3.1: "When a TCP sender detects segment loss using the retransmission
   * timer ..., the value of ssthresh MUST be set to no more than the value given in equation
   * (4)" and "Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be set to no
   * more than the loss window, LW, which equals 1 full-sized segment".
   */
  onRto(inFlight: number, _now: number): void {
    this.ssthresh = this.lossThreshold(inFlight);
    this.cwnd = this.mss;
    this.bytesAcked = 0;
  }

  /**
   * RFC 5681 section 4.1: "if the TCP has not sent data in an interval exceeding the
   * retransmission timeout ... cwnd is reduced to the value of the restart window (RW)
   * before transmission begins": RW = min (IW, cwnd).
   */
  onIdleRestart(_now: number, _rto: number): void {
    this.cwnd = Math.min(initialWindow(this.mss), this.cwnd);
  }

  /** RFC 5681 equation (4): max (FlightSize / 2, 2*SMSS). */
  protected lossThreshold(inFlight: number): number {
    const flight = inFlight > 0 ? inFlight : 0;
    return Math.max(Math.floor(flight / 2), 2 * this.mss);
  }
}
