/**
 * SACK-based loss recovery, RFC 6675 section 5, on top of the SackScoreboard (Update,
 * IsLost, SetPipe, NextSeg). Only holes are retransmitted; new data may flow when the
 * pipe allows.
 */
import { seqAdd, seqDiff, seqGe, seqLt, seqMin, type Seq } from '../../core/seq.js';
import type { Connection } from '../connection.js';
import { maxPayload, retransmit, sendSegment } from '../output.js';
import { DUP_THRESH } from '../scoreboard.js';
import type { LossRecovery } from './types.js';

/** Bound on segments sent per transmit() call (a safety net; every round makes progress anyway). */
const MAX_BURST = 1024;

export class SackRecovery implements LossRecovery {
  readonly kind = 'sack' as const;
  inRecovery = false;
  /** One past the highest retransmitted octet (the scoreboard's exclusive HighRxt). */
  highRxt: Seq = 0 as Seq;
  /** RFC 6675 RescueRxt (inclusive), undefined outside recovery. */
  rescueRxt: Seq | undefined = undefined;

  onAck(c: Connection, acked: number, isDup: boolean, inFlight: number): void {
    const now = c.ctx.clock.now();
    if (this.inRecovery) {
      // (A) "An incoming cumulative ACK for a sequence number greater than RecoveryPoint
      // signals the end of loss recovery" (RecoveryPoint is exclusive here, hence >=).
      if (acked > 0 && seqGe(c.sndUna, c.recoveryPoint)) {
        this.inRecovery = false;
        this.rescueRxt = undefined;
        c.dupAcks = 0;
        c.cc.onRecoveryEnd(now);
        return;
      }
      // (B) the scoreboard is updated; SetPipe and (C) run in transmit().
      if (seqLt(this.highRxt, c.sndUna)) this.highRxt = c.sndUna;
      return;
    }
    if (acked > 0) {
      // "If the incoming ACK is a cumulative acknowledgment, the TCP MUST reset DupAcks to zero."
      c.dupAcks = 0;
      c.cc.onAck(acked, now, c.rtt.srtt, inFlight);
      return;
    }
    if (isDup) c.dupAcks++;
    // RFC 6675 5.1: after an RTO "a new recovery phase ... MUST NOT be initiated until HighACK
    // is greater than or equal to the new value of RecoveryPoint".
    if (!seqGe(c.sndUna, c.recoveryPoint) || c.sndUna === c.sndMax) return;
    const sb = c.scoreboard!;
    // (1) DupAcks >= DupThresh, or (2) IsLost(HighACK + 1): enter loss recovery (4).
    if (c.dupAcks >= DUP_THRESH || (sb.sackedBytes > 0 && sb.isLost(c.sndUna, c.mss))) this.enter(c);
  }

  private enter(c: Connection): void {
    const now = c.ctx.clock.now();
    this.inRecovery = true;
    // (4.1) RecoveryPoint = HighData.
    c.recoveryPoint = c.sndMax;
    // (4.2) ssthresh = cwnd = FlightSize / 2 (the congestion controller's reduction).
    c.cc.onLoss(c.flightSize(), now);
    c.ctx.counters.TCPSackRecovery++;
    // (4.3) Retransmit the first segment presumed dropped, starting at HighACK + 1; HighRxt
    // and RescueRxt to its highest sequence number.
    const sb = c.scoreboard!;
    let limit = seqAdd(c.sndUna, c.mss);
    for (const b of sb.sackedBytes > 0 ? sb.blocks() : []) {
      if (seqLt(c.sndUna, b.start)) {
        limit = seqMin(limit, b.start);
        break;
      }
    }
    this.highRxt = c.sndUna;
    const end = retransmit(c, c.sndUna, seqDiff(limit, c.sndUna));
    c.ctx.counters.TCPFastRetrans++;
    this.highRxt = end;
    this.rescueRxt = seqAdd(end, -1);
    c.ctx.debug(() => `${c.name()} SACK recovery: una=${c.sndUna} point=${c.recoveryPoint} cwnd=${c.cc.cwnd}`);
    // (4.4)/(4.5): SetPipe and step (C) follow in transmit() via output().
  }

  /**
   * RFC 6675 5 (3): limited transmit with SACK is "determined by pipe and cwnd": output()
   * already leaves SACKed octets out of what it counts in flight, so no extra allowance.
   */
  extraWindow(): number {
    return 0;
  }

  /** (C) "If cwnd - pipe >= 1 SMSS, the sender SHOULD transmit one or more segments". */
  transmit(c: Connection): boolean {
    const sb = c.scoreboard!;
    const mss = c.mss;
    let pipe = sb.pipe(c.sndUna, c.sndNxt, this.highRxt, mss);
    for (let i = 0; i < MAX_BURST && c.cc.cwnd - pipe >= mss; i++) {
      // (C.1) NextSeg().
      const newDataLimit = seqMin(c.dataEnd(), seqAdd(c.sndUna, c.sndWnd));
      const s = sb.nextSeg({
        sndUna: c.sndUna,
        sndNxt: c.sndNxt,
        highRxt: this.highRxt,
        rescueRxt: this.rescueRxt,
        recoveryPoint: c.recoveryPoint,
        mss,
        newDataLimit,
      });
      if (s === undefined) break;
      if (s.rule === 4 && !seqLt(this.highRxt, s.end)) {
        // The rescue would resend octets already retransmitted in this recovery (below
        // HighRxt); RFC 6675 4.3's aim is "to prevent repeated retransmission of the same
        // data", so the one rescue is spent without sending (Linux has no rescue at all).
        this.rescueRxt = seqAdd(c.recoveryPoint, -1);
        break;
      }
      let end: Seq;
      if (s.rule === 2) {
        // (C.3) new data: HighData moves up.
        const len = Math.min(seqDiff(s.end, s.start), maxPayload(c));
        const fin = c.finQueued && seqAdd(s.start, len) === c.dataEnd() && seqLt(seqAdd(s.start, len), seqAdd(c.sndUna, c.sndWnd));
        end = sendSegment(c, s.start, len, fin);
      } else {
        end = retransmit(c, s.start, seqDiff(s.end, s.start));
        c.ctx.counters.TCPFastRetrans++;
        // (C.2) HighRxt to the highest retransmitted octet, except for the rescue (rule 4),
        // which sets RescueRxt = RecoveryPoint instead.
        if (s.rule === 4) this.rescueRxt = seqAdd(c.recoveryPoint, -1);
        else if (seqLt(this.highRxt, end)) this.highRxt = end;
      }
      const sent = seqDiff(end, s.start);
      if (sent <= 0) break;
      // (C.4) pipe += octets sent.
      pipe += sent;
    }
    return true;
  }

  onRto(c: Connection): void {
    this.inRecovery = false;
    this.highRxt = c.sndUna;
    this.rescueRxt = undefined;
  }
}
