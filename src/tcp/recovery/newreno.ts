/**
 * Fast retransmit and fast recovery without SACK: RFC 5681 3.2 with the NewReno
 * modification of RFC 6582 (partial ACKs keep recovery going; "recover" prevents a second
 * window reduction for losses in the same flight — the "bugfix" of RFC 2582 section 6).
 *
 * Window inflation (RFC 5681 3.2 steps 3-4, RFC 6582 3.2 step 4 deflation) is kept as a
 * separate number added to cwnd by output(), so the congestion controller only ever sees
 * the ssthresh it set.
 */
import { seqGe } from '../../core/seq.js';
import type { Connection } from '../connection.js';
import { armRtx, retransmit } from '../output.js';
import { DUP_THRESH } from '../scoreboard.js';
import type { LossRecovery } from './types.js';

export class NewRenoRecovery implements LossRecovery {
  readonly kind = 'newreno' as const;
  inRecovery = false;
  /** Octets added to cwnd during recovery (3*SMSS + one per extra duplicate ACK, minus deflation). */
  inflation = 0;
  private partialSeen = false;

  onAck(c: Connection, acked: number, isDup: boolean, inFlight: number): void {
    const now = c.ctx.clock.now();
    const mss = c.mss;
    if (this.inRecovery) {
      if (acked > 0) {
        if (seqGe(c.sndUna, c.recoveryPoint)) {
          // RFC 6582 3.2 step 3, full acknowledgment: cwnd = ssthresh, leave fast recovery.
          this.inRecovery = false;
          this.inflation = 0;
          c.dupAcks = 0;
          c.cc.onRecoveryEnd(now);
          return;
        }
        // Step 4, partial acknowledgment: "retransmit the first unacknowledged segment ...
        // deflate the congestion window by the amount of new data acknowledged ... If the
        // partial ACK acknowledges at least one SMSS of new data, then add back SMSS bytes".
        retransmit(c, c.sndUna, mss);
        c.ctx.counters.TCPFastRetrans++;
        this.inflation -= acked;
        if (acked >= mss) this.inflation += mss;
        // "For the first partial ACK that arrives during fast recovery, also reset the retransmit timer."
        if (!this.partialSeen) {
          this.partialSeen = true;
          armRtx(c);
        }
        return;
      }
      // RFC 5681 3.2 step 4: each additional duplicate ACK inflates cwnd by SMSS.
      if (isDup) this.inflation += mss;
      return;
    }
    if (acked > 0) {
      c.dupAcks = 0;
      c.cc.onAck(acked, now, c.rtt.srtt, inFlight);
      return;
    }
    if (!isDup) return;
    c.dupAcks++;
    if (c.dupAcks !== DUP_THRESH) return;
    // RFC 6582 3.2 step 2: enter fast retransmit only if the cumulative ACK covers more than
    // "recover" (recoveryPoint is recover + 1).
    if (!seqGe(c.sndUna, c.recoveryPoint)) return;
    this.inRecovery = true;
    this.partialSeen = false;
    c.recoveryPoint = c.sndMax;
    // RFC 5681 3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS); step 3: retransmit, cwnd = ssthresh + 3*SMSS.
    c.cc.onLoss(c.flightSize(), now);
    this.inflation = DUP_THRESH * mss;
    c.ctx.counters.TCPRenoRecovery++;
    retransmit(c, c.sndUna, mss);
    c.ctx.counters.TCPFastRetrans++;
    c.ctx.debug(() => `${c.name()} NewReno recovery: una=${c.sndUna} recover=${c.recoveryPoint} cwnd=${c.cc.cwnd}`);
  }

  extraWindow(c: Connection): number {
    if (this.inRecovery) return this.inflation;
    // RFC 3042 limited transmit: one new segment for each of the first two duplicate ACKs.
    return c.dupAcks === 0 ? 0 : Math.min(c.dupAcks, 2) * c.mss;
  }

  transmit(): boolean {
    return false;
  }

  onRto(): void {
    this.inRecovery = false;
    this.inflation = 0;
  }
}
