/**
 * Loss recovery (RFC 5681 3.2 fast retransmit / fast recovery), as a small interface with
 * three implementations: RFC 6675 with SACK and RACK-TLP loss detection (rack-recovery.ts,
 * RFC 8985, the default with SACK), RFC 6675 with its DupThresh rule (sack.ts, rackTlp off),
 * and RFC 6582 NewReno without SACK (newreno.ts). The retransmission timeout is handled in
 * timers.ts and tells the recovery to stand down.
 */
import type { Connection } from '../connection.js';

export interface LossRecovery {
  readonly kind: 'rack' | 'sack' | 'newreno';
  readonly inRecovery: boolean;
  /**
   * After each acceptable ACK (SND.UNA, scoreboard and window already updated): count
   * duplicate ACKs, enter or leave recovery, retransmit, and grow cwnd outside recovery.
   * `acked`: octets newly acknowledged; `inFlight`: FlightSize before this ACK.
   */
  onAck(c: Connection, acked: number, isDup: boolean, inFlight: number): void;
  /** Octets beyond cwnd that normal output may use (RFC 3042 limited transmit, RFC 5681 inflation). */
  extraWindow(c: Connection): number;
  /** During recovery: transmit by the algorithm's own rules; true when it did (normal output is skipped). */
  transmit(c: Connection): boolean;
  /** A retransmission timeout happened: leave recovery. */
  onRto(c: Connection): void;
  /** RACK's reordering timer marked segments lost (RFC 8985 6.2 step 6): start recovery. */
  onLossMarked?(c: Connection): void;
}
