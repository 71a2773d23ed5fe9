/**
 * RACK-TLP, RFC 8985 ("The RACK-TLP Loss Detection Algorithm for TCP"): time-based loss
 * detection from per-segment transmit times (RACK), and the Tail Loss Probe (TLP) that makes
 * the receiver send the ACK feedback RACK needs when the tail of a flight is lost.
 *
 * How it fits (RFC 8985 section 9): RACK decides which segments are lost, replacing the
 * DupThresh / IsLost() rule of RFC 6675; RackRecovery (rack-recovery.ts) keeps RFC 6675's
 * recovery episode (RecoveryPoint, one cwnd reduction, pipe) and retransmits what RACK
 * marked. A retransmission gets a new transmit time, so a lost retransmission is detected
 * like any other loss once something sent after it is delivered — no RTO needed.
 *
 * Choices where the RFC leaves room (and Linux, tcp_recovery.c / tcp_output.c, agrees):
 * - reo_wnd: the DSACK-based adaptation of section 6.2 step 4 (reo_wnd_mult grows per round
 *   trip that sees a D-SACK, resets after 16 recoveries without one), on RACK.min_RTT / 4.
 * - RACK.min_RTT: a windowed minimum of RACK's own RTT samples (MIN_RTT_WINDOW_MS).
 * - TLP.max_ack_delay (WCDelAckT): 200 ms, added to the PTO when one segment is in flight.
 * - Only with SACK: without it the sender cannot tell which segments were delivered (Linux
 *   also limits RACK-TLP to SACK connections); NewReno (RFC 6582) is used otherwise.
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, type Seq } from '../../core/seq.js';
import { canSendData, type Connection } from '../connection.js';
import type { Segment } from '../header.js';
import { armRtx, maxPayload, retransmit, sendSegment } from '../output.js';
import { DUP_THRESH } from '../scoreboard.js';
import { F_LOST, F_RTX, F_SACKED, R_END, R_FLAGS, R_TS, STRIDE, TransmitLog } from './xmit-log.js';

/** RFC 8985 7.2: "TLP.max_ack_delay", the worst-case delayed ACK of the receiver (WCDelAckT). */
export const TLP_MAX_ACK_DELAY_MS = 200;
/** Smallest PTO (Linux adds 2 jiffies; a timer below the delayed ACK granularity only adds probes). */
export const TLP_MIN_PTO_MS = 10;
/** RFC 8985 7.2: "Else: PTO = 1 sec" when no SRTT is known. */
const TLP_NO_SRTT_PTO_MS = 1000;
/** RFC 8985 6.2 step 4: "Reset the window after 16 DSACK-free recoveries". */
const REO_WND_PERSIST = 16;
/** Window of the RACK.min_RTT filter (RFC 8985 6.2 step 1 asks for a windowed minimum). */
const MIN_RTT_WINDOW_MS = 30_000;

/** RFC 8985 6.2 step 2: RACK_sent_after(t1, seq1, t2, seq2). */
function sentAfter(t1: number, seq1: Seq, t2: number, seq2: Seq): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(seq1, seq2));
}

export class RackTlp {
  /** Transmit times of everything in flight (RFC 8985 6.1 per-segment state). */
  readonly log = new TransmitLog();

  // --- RACK (RFC 8985 6.1 per-connection state) ---
  /** RACK.xmit_ts / RACK.end_seq: the most recently sent segment known delivered. */
  xmitTs = 0;
  endSeq: Seq = 0 as Seq;
  /** A segment was delivered since the connection began (RACK.xmit_ts is meaningful). */
  private haveXmit = false;
  /** RACK.rtt: the RTT of that segment, ms. */
  rtt = 0;
  /** RACK.min_RTT (windowed), ms; Infinity before the first sample. */
  minRtt = Infinity;
  private minRttAt = 0;
  /** RACK.fack: the highest end sequence delivered. */
  private fack: Seq = 0 as Seq;
  private haveFack = false;
  /** RACK.reordering_seen. */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round. */
  reoWndMult = 1;
  private reoWndPersist = 0;
  private dsackRound: Seq | undefined = undefined;

  // --- TLP (RFC 8985 7.1) ---
  /** TLP.end_seq: SND.NXT when the probe went out, undefined when no probe is outstanding. */
  tlpEndSeq: Seq | undefined = undefined;
  /** TLP.is_retrans. */
  tlpIsRetrans = false;
  /** First sequence number of the probe (to match a D-SACK for it). */
  private tlpStart: Seq = 0 as Seq;
  /** Set by an ACK showing that the probe repaired a loss (RFC 8985 7.4.2); the recovery reacts. */
  tlpRepairedLoss = false;

  // --- The RACK reordering timer and the PTO share the connection's lossTimer ---
  reoDeadline: number | undefined = undefined;
  ptoDeadline: number | undefined = undefined;
  /** Sending a loss probe (its new data must not restart the PTO). */
  private probing = false;

  /** The last transmit time given to the log, and the highest end sent at it (see onTransmit). */
  private lastXmitTs = -Infinity;
  private lastXmitEnd: Seq = 0 as Seq;

  // --- Per-ACK scratch for the delivered segments (one bound callback, no allocation) ---
  private dNow = 0;
  private dTsEcr = 0;
  private dTsOffset = 0;
  private dHave = false;
  private dTs = 0;
  private dEnd: Seq = 0 as Seq;
  private dFack: Seq = 0 as Seq;
  private readonly onDelivered = (s: Seq, e: Seq, ts: number, flags: number): void => this.delivered(s, e, ts, flags);

  /** sendSegment() sent [start, end) (data and/or FIN). */
  onTransmit(c: Connection, start: Seq, end: Seq, now: number, isRtx: boolean): void {
    // RFC 8985 section 4: "the sender MUST store its most recent transmission time with a
    // timestamp whose granularity is finer than 1/4 of the minimum RTT". RACK_sent_after()
    // breaks ties of equal times by sequence number — right for a burst of new data, wrong
    // for a retransmission sent after higher data on the same clock reading (two ACKs, or an
    // ACK and the reordering timer, in one millisecond): it would count as sent before that
    // data and be marked lost as soon as the data is SACKed. So transmit times never go back,
    // and a transmission that the tie-break would misorder moves on by a nanosecond (a
    // microsecond past 10^9 ms, above the ulp); everything else keeps the clock's reading.
    let ts = now;
    if (ts <= this.lastXmitTs) {
      ts = this.lastXmitTs;
      if (!seqGt(end, this.lastXmitEnd)) ts += ts < 1e9 ? 1e-6 : ts * 1e-15;
    }
    if (ts > this.lastXmitTs || seqGt(end, this.lastXmitEnd)) this.lastXmitEnd = end;
    this.lastXmitTs = ts;
    this.log.transmit(start, end, ts, isRtx);
    // RFC 8985 7.2: "start or restart a loss probe PTO timer after transmitting new data
    // (that was not itself a loss probe)".
    if (!isRtx && !this.probing) this.schedulePto(c, now);
  }

  /**
   * RFC 8985 6.2, upon receiving an ACK (after SND.UNA and the scoreboard were updated):
   * steps 1-3 for the newly delivered segments, step 4 (D-SACK rounds), TLP (7.4), then
   * steps 5-6: mark losses and arm the reordering timer. `dsack` tells whether the ACK's
   * first SACK block was a D-SACK.
   */
  onAck(c: Connection, seg: Segment, acked: number, dsack: boolean): void {
    const now = c.ctx.clock.now();
    this.dNow = now;
    this.dHave = false;
    this.dTsEcr = c.tsOk && seg.hasTimestamp ? seg.tsEcr : 0;
    this.dTsOffset = c.tsOffset;
    const log = this.log;
    if (!this.haveFack) {
      // Start RACK.fack at the lowest octet still in the log, from before this ACK: SND.UNA
      // has already moved, and starting there would make every segment this first ACK
      // delivers look "below RACK.fack" (reordering_seen, hence reo_wnd > 0 in recovery).
      this.fack = log.count > 0 ? log.start(log.head) : c.sndUna;
      this.haveFack = true;
    }
    this.dFack = this.fack;
    if (log.count > 0) {
      log.ackTo(c.sndUna, this.onDelivered);
      // The SACK blocks, validated as the scoreboard does (RFC 6675 Update(), RFC 2883).
      const blocks = seg.sackList;
      for (let k = dsack ? 1 : 0; k < blocks.length; k++) {
        const b = blocks[k]!;
        if (!seqLt(b.start, b.end) || seqGt(b.end, c.sndMax) || seqLe(b.end, c.sndUna)) continue;
        log.sack(seqLt(b.start, c.sndUna) ? c.sndUna : b.start, b.end, this.onDelivered);
      }
    }
    const advanced = this.dHave;
    if (advanced) {
      // Step 2: RACK.rtt and RACK.xmit_ts / RACK.end_seq from the most recently sent one.
      const rtt = now - this.dTs;
      this.rtt = rtt;
      // Step 1: RACK.min_RTT.
      if (rtt <= this.minRtt || now - this.minRttAt > MIN_RTT_WINDOW_MS) {
        this.minRtt = rtt;
        this.minRttAt = now;
      }
      if (!this.haveXmit || sentAfter(this.dTs, this.dEnd, this.xmitTs, this.endSeq)) {
        this.xmitTs = this.dTs;
        this.endSeq = this.dEnd;
        this.haveXmit = true;
      }
    }
    // Step 3: RACK.fack.
    this.fack = this.dFack;
    // Step 4 (first half): one D-SACK round per round trip grows reo_wnd.
    if (this.dsackRound !== undefined && seqGe(c.sndUna, this.dsackRound)) this.dsackRound = undefined;
    if (this.dsackRound === undefined && dsack) {
      this.dsackRound = c.sndMax;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    }
    if (this.tlpEndSeq !== undefined) this.tlpProcessAck(c, seg, acked, dsack);
    // Steps 5-6 (Linux runs them when RACK advanced; the timer covers the rest).
    if (advanced) this.detectLossAndArmTimer(c, now);
    if (acked > 0) {
      // RFC 8985 7.2: restart the PTO "upon receiving an ACK that cumulatively acknowledges new data".
      this.schedulePto(c, now);
    }
  }

  /** One newly delivered record part (TransmitLog callback): RFC 8985 6.2 steps 2 and 3. */
  private delivered(_s: Seq, e: Seq, ts: number, flags: number): void {
    // Step 3: "If Segment.end_seq > RACK.fack: RACK.fack = Segment.end_seq; Else if
    // Segment.end_seq < RACK.fack AND Segment.retransmitted is FALSE: RACK.reordering_seen = TRUE"
    // (compared with the fack before this ACK: the same as walking in ascending end_seq order).
    if (seqGt(e, this.dFack)) this.dFack = e;
    if (seqLt(e, this.fack) && (flags & F_RTX) === 0) this.reorderingSeen = true;
    // Step 2: "If Segment.retransmitted is TRUE: If ACK.ts_option.echo_reply < Segment.xmit_ts:
    // Return; If rtt < RACK.min_RTT: Return" (the ACK may be for the original transmission).
    if (flags & F_RTX) {
      if (this.dTsEcr !== 0 && ((this.dTsEcr - ((Math.floor(ts) + this.dTsOffset) >>> 0)) | 0) < 0) return;
      if (this.dNow - ts < this.minRtt) return;
    }
    if (!this.dHave || sentAfter(ts, e, this.dTs, this.dEnd)) {
      this.dTs = ts;
      this.dEnd = e;
      this.dHave = true;
    }
  }

  /**
   * RFC 8985 6.2 step 4, RACK_update_reo_wnd(): 0 while recovering (or with DupThresh
   * segments SACKed) unless reordering was seen, else min(reo_wnd_mult * min_RTT / 4, SRTT).
   */
  reoWnd(c: Connection): number {
    if (!this.reorderingSeen) {
      if (c.recovery.inRecovery || seqLt(c.sndUna, c.recoveryPoint)) return 0;
      if (this.log.sackedBytes >= DUP_THRESH * c.mss) return 0;
    }
    const srtt = c.rtt.srtt;
    const w = Number.isFinite(this.minRtt) ? (this.reoWndMult * this.minRtt) / 4 : srtt;
    return srtt > 0 ? Math.min(w, srtt) : w;
  }

  /**
   * RFC 8985 6.2 step 5, RACK_detect_loss(): every segment sent before RACK.xmit_ts (RACK_sent_after)
   * and older than RACK.rtt + RACK.reo_wnd is lost. Returns the time until the next one
   * would be (0: none waiting).
   *
   * The walk is in sequence order. A record that was never retransmitted and is not older
   * than RACK.xmit_ts ends it: new data goes out in sequence order, so every later record is
   * at least as new (Linux walks a time-sorted list for the same effect).
   */
  detectLoss(c: Connection, now: number): number {
    if (!this.haveXmit) return 0;
    const log = this.log;
    const r = log.r;
    const reo = this.reoWnd(c);
    const k = c.ctx.counters;
    let timeout = 0;
    for (let i = log.head; i < log.tail; i++) {
      const b = i * STRIDE;
      const f = r[b + R_FLAGS]!;
      if (f & (F_SACKED | F_LOST)) continue;
      const ts = r[b + R_TS]!;
      const end = r[b + R_END]! as Seq;
      if (!sentAfter(this.xmitTs, this.endSeq, ts, end)) {
        if (f & F_RTX) continue;
        break;
      }
      // "remaining = Segment.xmit_ts + RACK.rtt + RACK.reo_wnd - Now()"
      const remaining = ts + this.rtt + reo - now;
      if (remaining <= 0) {
        log.markLost(i);
        const segs = Math.max(1, Math.ceil(seqDiff(end, log.start(i)) / c.mss));
        k.TCPRACKLossDetected += segs;
        if (f & F_RTX) k.TCPLostRetransmit += segs;
      } else if (remaining > timeout) {
        timeout = remaining;
      }
    }
    return timeout;
  }

  /** RFC 8985 6.2 step 6: RACK_detect_loss_and_arm_timer(). */
  detectLossAndArmTimer(c: Connection, now: number): void {
    const timeout = this.detectLoss(c, now);
    if (timeout > 0) {
      this.reoDeadline = now + timeout;
      this.armTimer(c, this.reoDeadline);
    } else {
      this.reoDeadline = undefined;
    }
  }

  // ------------------------------------------------------------------ TLP

  /** RFC 8985 7.2 conditions for a loss probe: open state, data in flight, no probe outstanding. */
  private canProbe(c: Connection): boolean {
    return (
      this.tlpEndSeq === undefined &&
      canSendData(c.state) &&
      seqGt(c.sndMax, c.sndUna) &&
      c.rtxMode === 'rtx' &&
      // "unless it is already in fast recovery, RTO recovery, or the sender has segments
      // delivered and not yet acknowledged" (Linux: only in the Open and CWR states).
      !c.recovery.inRecovery &&
      seqGe(c.sndUna, c.recoveryPoint) &&
      this.log.sackedBytes === 0
    );
  }

  /** RFC 8985 7.2, TLP_calc_PTO() and arming (lazily: a later deadline re-arms when the timer fires). */
  schedulePto(c: Connection, now: number): void {
    if (!this.canProbe(c)) {
      this.ptoDeadline = undefined;
      return;
    }
    // "If SRTT is available: PTO = 2 * SRTT; If FlightSize is one segment: PTO += TLP.max_ack_delay;
    // Else: PTO = 1 sec"
    const srtt = c.rtt.srtt;
    let pto = srtt > 0 ? 2 * srtt : TLP_NO_SRTT_PTO_MS;
    if (c.flightSize() <= c.mss) pto += TLP_MAX_ACK_DELAY_MS;
    if (pto < TLP_MIN_PTO_MS) pto = TLP_MIN_PTO_MS;
    // "If Now() + PTO > TCP_RTO_expiration(): PTO = TCP_RTO_expiration() - Now()"
    let d = now + pto;
    if (c.rtxDeadline < d) d = c.rtxDeadline;
    this.ptoDeadline = d;
    this.armTimer(c, d);
  }

  /**
   * RFC 8985 7.3, TLP_send_probe(): new data if the window allows ("Transmit the lowest-sequence
   * unsent segment of up to SMSS"), else "Retransmit the highest-sequence segment sent so far";
   * then TLP.end_seq = SND.NXT and the RTO timer restarts.
   */
  private sendProbe(c: Connection, now: number): void {
    const wndEnd = seqAdd(c.sndUna, c.sndWnd);
    const dataEnd = c.dataEnd();
    const avail = seqDiff(dataEnd, c.sndNxt);
    let start: Seq;
    if (c.sndNxt === c.sndMax && avail > 0 && seqLt(c.sndNxt, wndEnd)) {
      start = c.sndNxt;
      const len = Math.min(avail, maxPayload(c), seqDiff(wndEnd, start));
      const fin = c.finQueued && len === avail && seqLt(seqAdd(start, len), wndEnd);
      this.probing = true;
      sendSegment(c, start, len, fin);
      this.probing = false;
      this.tlpIsRetrans = false;
    } else {
      // The last segment: up to SMSS octets ending at the last data octet sent, and the FIN.
      const top = c.finSent ? dataEnd : c.sndMax;
      start = seqMax(c.sndUna, seqAdd(top, -maxPayload(c)));
      if (seqLt(top, start)) start = top;
      const end = retransmit(c, start, seqDiff(top, start));
      if (end === start) return;
      this.tlpIsRetrans = true;
    }
    this.tlpStart = start;
    this.tlpEndSeq = c.sndMax;
    c.ctx.counters.TCPLossProbes++;
    // "the sender MUST re-arm the RTO timer, not the PTO timer" (Linux: from now).
    armRtx(c, now);
    c.ctx.debug(() => `${c.name()} TLP: probe ${this.tlpIsRetrans ? 'retransmission' : 'new data'} at ${start}, end_seq=${this.tlpEndSeq}`);
  }

  /**
   * RFC 8985 7.4.2, TLP_process_ack(): the episode ends with the ACK that covers the probe.
   * A probe of new data, or a retransmission the receiver reports as a duplicate (D-SACK, or a
   * pure duplicate ACK), repaired nothing; a later ACK without either means the probe
   * repaired a loss, and congestion control must react once (tlpRepairedLoss).
   */
  private tlpProcessAck(c: Connection, seg: Segment, acked: number, dsack: boolean): void {
    const end = this.tlpEndSeq!;
    if (seqLt(seg.ack, end)) return;
    if (!this.tlpIsRetrans) {
      this.tlpEndSeq = undefined; // "TLP of new data delivered"
      return;
    }
    if (dsack) {
      const d = seg.sackList[0]!;
      if (seqLt(d.start, end) && seqGt(d.end, this.tlpStart)) {
        this.tlpEndSeq = undefined; // "Retransmission is redundant"
        return;
      }
    }
    if (seqGt(seg.ack, end)) {
      this.tlpEndSeq = undefined;
      this.tlpRepairedLoss = true;
      return;
    }
    // ACK == TLP.end_seq: a pure duplicate ACK means the original and the probe both arrived.
    if (acked === 0 && seg.sackCount === 0 && seg.payload.length === 0) this.tlpEndSeq = undefined;
  }

  // ------------------------------------------------------------------ timer, episodes

  private armTimer(c: Connection, d: number): void {
    const t = c.lossTimer;
    if (t.deadline === undefined || t.deadline > d) t.arm(d);
  }

  /**
   * The lossTimer fired: the reordering timer (RFC 8985 6.2 step 6) and/or the PTO (7.3).
   * Returns true when it marked losses (the caller lets the recovery react and sends).
   */
  onTimer(c: Connection): boolean {
    const now = c.ctx.clock.now();
    let marked = false;
    if (this.reoDeadline !== undefined && now >= this.reoDeadline) {
      this.reoDeadline = undefined;
      const before = this.log.lostBytes;
      this.detectLossAndArmTimer(c, now);
      marked = this.log.lostBytes > before;
    }
    if (this.ptoDeadline !== undefined && now >= this.ptoDeadline) {
      this.ptoDeadline = undefined;
      // Losses just marked start recovery (the caller), which sends; no probe on top of it.
      if (!marked && this.canProbe(c)) this.sendProbe(c, now);
    }
    let next = this.reoDeadline;
    if (this.ptoDeadline !== undefined && (next === undefined || this.ptoDeadline < next)) next = this.ptoDeadline;
    if (next !== undefined) c.lossTimer.arm(next);
    return marked;
  }

  /** Fast recovery begins: RFC 8985 7.1 initializes the TLP state ("fast recovery"). */
  onRecoveryStart(): void {
    this.tlpEndSeq = undefined;
    this.tlpRepairedLoss = false;
    this.ptoDeadline = undefined;
  }

  /** RFC 8985 6.2 step 4: "Else if exiting Fast or RTO recovery: RACK.reo_wnd_persist -= 1 ...". */
  onRecoveryEnd(): void {
    if (--this.reoWndPersist <= 0) {
      this.reoWndPersist = 0;
      this.reoWndMult = 1;
    }
  }

  /**
   * Retransmission timeout: the SACK information is expunged (the scoreboard's choice, RFC
   * 6675 5.1), so are the loss marks — the go-back resends everything unSACKed anyway —, and
   * the TLP state starts over (RFC 8985 7.1, "RTO recovery").
   */
  onRto(): void {
    this.log.resetMarks();
    this.tlpEndSeq = undefined;
    this.tlpRepairedLoss = false;
    this.reoDeadline = undefined;
    this.ptoDeadline = undefined;
    this.onRecoveryEnd();
  }

  /** The receiver reneged (RFC 2018 8): SACKed records are in flight again. */
  onReneging(): void {
    this.log.resetMarks();
  }
}
