/**
 * The congestion-control contract between the TCP engine (which owns loss detection and the
 * recovery procedures: RFC 5681 section 3.2, RFC 6582, RFC 6675) and an algorithm (which
 * owns the window arithmetic). All windows are bytes; `now` is the Clock's ms; `srtt` is the
 * RFC 6298 smoothed RTT in ms (0 when unknown).
 *
 * `cwnd` and `ssthresh` are plain fields: the engine may adjust cwnd during recovery (e.g.
 * RFC 6582 window inflation, RFC 6937 PRR) and the algorithm continues from whatever it finds.
 */
import type { CongestionName } from '../api.js';

export interface CongestionControl {
  readonly name: CongestionName;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow-start threshold, bytes. Initially "arbitrarily high" (RFC 5681 section 3.1): INITIAL_SSTHRESH. */
  ssthresh: number;
  /** RFC 6928 IW = min(10*MSS, max(2*MSS, 14600)); also used when the MSS changes before data flows. */
  init(mss: number, now: number): void;
  /** PMTU change: keep cwnd (and a finite ssthresh) the same number of segments. */
  setMss(mss: number): void;
  /**
   * New data cumulatively ACKed outside recovery: slow start (RFC 5681 3.1 with RFC 3465
   * L = 2*SMSS) or congestion avoidance. `inFlight` is FlightSize when the ACK arrived; the
   * window only grows while the connection uses at least half of it (RFC 7661), so pass a
   * real value (before or after removing the ACKed bytes both work).
   */
  onAck(ackedBytes: number, now: number, srtt: number, inFlight: number): void;
  /** Entering fast recovery: sets ssthresh AND cwnd = ssthresh. */
  onLoss(inFlight: number, now: number): void;
  /** Full ACK, recovery over: cwnd = ssthresh (RFC 6582 section 3.2 step 3, RFC 6675). */
  onRecoveryEnd(now: number): void;
  /** Retransmission timeout: ssthresh as onLoss, cwnd = 1*SMSS (RFC 5681 section 3.1 loss window). */
  onRto(inFlight: number, now: number): void;
  /** RFC 5681 section 4.1: after an idle period longer than the RTO, cwnd = min(IW, cwnd). */
  onIdleRestart?(now: number, rto: number): void;
}

/** RFC 5681 section 3.1: "The initial value of ssthresh SHOULD be set arbitrarily high". */
export const INITIAL_SSTHRESH = 0x7fffffff;

/** RFC 6928 section 2: IW = min (10*MSS, max (2*MSS, 14600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}
