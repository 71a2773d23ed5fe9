/**
 * SACK loss recovery with RACK-TLP loss detection: RFC 6675's recovery episode with RFC
 * 8985's loss marking (RFC 8985 section 9: RACK-TLP "replaces the DupThresh-based loss
 * detection" while "the SACK scoreboard, pipe and NextSeg" logic decides what to send), as
 * Linux combines them (tcp_recovery=1, tcp_early_retrans=3).
 *
 * - Entering recovery: RACK marked a segment lost (on an ACK or when its reordering timer
 *   fired). RFC 6675 (4.1)/(4.2): RecoveryPoint = HighData, cwnd and ssthresh reduced once;
 *   (4.3) the first lost segment is retransmitted whatever the pipe.
 * - During recovery, RFC 6675 (C) with RACK's marks: pipe is what is in flight (sent, not
 *   SACKed, not marked lost; a retransmitted segment counts once), NextSeg rule 1 is the
 *   lowest segment RACK marked lost; when nothing is marked lost, new data follows through
 *   the normal output path (rule 2, with TSO). No rule 3/4 retransmissions: the tail is
 *   RACK's and TLP's business.
 * - Leaving recovery: a cumulative ACK at or beyond RecoveryPoint (RFC 6675 (A)).
 * - A TLP that repaired a loss outside recovery reduces cwnd once (RFC 8985 7.4.2).
 */
import { seqDiff, seqGe, type Seq } from '../../core/seq.js';
import type { Connection } from '../connection.js';
import { retransmit } from '../output.js';
import type { LossRecovery } from './types.js';

/** Bound on retransmissions per transmit() call (a safety net; every round makes progress). */
const MAX_BURST = 1024;

export class RackRecovery implements LossRecovery {
  readonly kind = 'rack' as const;
  inRecovery = false;
  /** RFC 6675 (4.3): the first lost segment goes out on entry, whatever the pipe. */
  private fastRetransmit = false;

  onAck(c: Connection, acked: number, _isDup: boolean, inFlight: number): void {
    const rack = c.rack;
    const now = c.ctx.clock.now();
    let ended = false;
    if (this.inRecovery) {
      // RFC 6675 (A): a cumulative ACK beyond RecoveryPoint ends the episode.
      if (acked === 0 || !seqGe(c.sndUna, c.recoveryPoint)) return;
      this.inRecovery = false;
      ended = true;
      c.cc.onRecoveryEnd(now);
      rack?.onRecoveryEnd();
    } else if (acked > 0) {
      c.cc.onAck(acked, now, c.rtt.srtt, inFlight);
    }
    // Keep "recover" within 2^31 of SND.UNA so that seqGe stays meaningful on long transfers.
    if (seqGe(c.sndUna, c.recoveryPoint)) c.recoveryPoint = c.sndUna;
    if (rack === undefined) return; // nothing sent yet (the RACK state comes with the first data)
    // RFC 8985 7.2: "start or restart a loss probe PTO timer ... upon receiving an ACK that
    // cumulatively acknowledges new data, unless it is already in fast recovery". RACK's
    // onAck ran while the episode was still open; the ACK that ends it arms the PTO here, or
    // a lost tail sent during recovery waits for the RTO (Linux: tcp_set_xmit_timer after
    // tcp_fastretrans_alert). Re-entering recovery below clears it again.
    if (ended) rack.schedulePto(c, now);
    if (!this.maybeEnter(c) && rack.tlpRepairedLoss) {
      // RFC 8985 7.4.2: the probe repaired a loss: "invoke the congestion control response
      // equivalent to fast recovery" — one reduction, no recovery episode (Linux: CWR).
      rack.tlpRepairedLoss = false;
      c.cc.onLoss(c.flightSize(), now);
      c.cc.onRecoveryEnd(now);
      c.ctx.counters.TCPLossProbeRecovery++;
      c.ctx.debug(() => `${c.name()} TLP repaired a loss: cwnd=${c.cc.cwnd}`);
    }
  }

  /** RACK's reordering timer marked losses. */
  onLossMarked(c: Connection): void {
    this.maybeEnter(c);
  }

  /**
   * Enter recovery when RACK marked something lost — not again within the episode, nor after
   * an RTO before SND.UNA passes its RecoveryPoint (RFC 6675 5.1).
   */
  private maybeEnter(c: Connection): boolean {
    const rack = c.rack;
    if (rack === undefined || this.inRecovery || rack.log.lostBytes <= 0 || !seqGe(c.sndUna, c.recoveryPoint)) return false;
    const now = c.ctx.clock.now();
    this.inRecovery = true;
    // (4.1) RecoveryPoint = HighData; (4.2) the congestion controller's one reduction.
    c.recoveryPoint = c.sndMax;
    c.cc.onLoss(c.flightSize(), now);
    c.ctx.counters.TCPSackRecovery++;
    this.fastRetransmit = true;
    rack.onRecoveryStart();
    c.ctx.debug(() => `${c.name()} RACK recovery: una=${c.sndUna} point=${c.recoveryPoint} lost=${rack.log.lostBytes} cwnd=${c.cc.cwnd}`);
    return true;
  }

  extraWindow(): number {
    return 0;
  }

  /**
   * RFC 6675 (C) with RACK's marks: "If cwnd - pipe >= 1 SMSS", retransmit the lowest lost
   * segment. True while lost segments wait for the window (normal output is skipped);
   * false once none are left, so that new data goes out through output().
   */
  transmit(c: Connection): boolean {
    const log = c.rack?.log;
    if (log === undefined) return false;
    const mss = c.mss;
    // Nothing below the last retransmission is lost (each goes to the lowest lost record).
    let from: Seq | undefined;
    for (let i = 0; i < MAX_BURST && log.lostBytes > 0; i++) {
      const pipe = c.flightSize() - log.sackedBytes - log.lostBytes;
      if (c.cc.cwnd - pipe < mss && !this.fastRetransmit) break;
      this.fastRetransmit = false;
      const k = log.firstLost(from);
      if (k < 0) break;
      const start = log.start(k);
      from = start;
      const end = retransmit(c, start, Math.min(seqDiff(log.end(k), start), mss));
      if (end === start) break;
      c.ctx.counters.TCPFastRetrans++;
    }
    return log.lostBytes > 0;
  }

  onRto(c: Connection): void {
    this.inRecovery = false;
    this.fastRetransmit = false;
    c.rack?.onRto();
  }
}
