/**
 * The ACK field of a segment in a synchronized state (RFC 9293 3.10.7.4, "fifth, check
 * the ACK field"): acceptability (RFC 5961 5.2), SND.UNA and the send buffer, RTT samples
 * (RFC 6298 with Karn's algorithm, RFC 7323 4.1 with timestamps), the retransmission timer
 * (RFC 6298 5.2, 5.3), SACK scoreboard updates and the send window. Loss recovery decisions
 * are handed to the connection's LossRecovery afterwards.
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, type Seq } from '../core/seq.js';
import { Ev, type Connection } from './connection.js';
import { TcpFlag, type Segment } from './header.js';
import { armRtx } from './output.js';
import { SackScoreboard } from './scoreboard.js';

/** RFC 5961 section 7: challenge ACKs are rate limited stack-wide (Linux tcp_challenge_ack_limit). */
export function challengeAck(c: Connection): void {
  if (c.ctx.takeChallengeAck()) {
    c.ctx.counters.TCPChallengeACK++;
    c.ackSoon();
  } else {
    c.ctx.counters.TCPACKSkippedChallenge++;
  }
}

/** Process the ACK field; false means "drop the rest of the segment". */
export function processAck(c: Connection, seg: Segment): boolean {
  const k = c.ctx.counters;
  const ack = seg.ack;
  // RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK,
  // drop the segment, and return." (SND.MAX: after a go-back SND.NXT is below what was sent.)
  if (seqGt(ack, c.sndMax)) {
    k.DropBadAck++;
    c.ctx.debug(() => `${c.name()} drop: ACK ${ack} beyond SND.NXT ${c.sndMax}`);
    c.ackSoon();
    return false;
  }
  // RFC 5961 5.2: acceptable only if (SND.UNA - MAX.SND.WND) =< SEG.ACK; otherwise discard and ACK.
  if (seqLt(ack, seqAdd(c.sndUna, -c.maxSndWnd))) {
    k.DropBadAck++;
    c.ctx.debug(() => `${c.name()} drop: ACK ${ack} below SND.UNA - MAX.SND.WND (RFC 5961 5.2)`);
    challengeAck(c);
    return false;
  }
  // Any acceptable ACK shows the peer is alive: unanswered probes start over (Linux tcp_ack).
  c.probesOut = 0;
  const wnd = seg.window << c.sndWscale; // scale <= 14: fits in 31 bits
  const acked = seqGt(ack, c.sndUna) ? seqDiff(ack, c.sndUna) : 0;
  // RFC 5681 section 2, DUPLICATE ACKNOWLEDGMENT: outstanding data, no data, no SYN/FIN,
  // "the acknowledgment number is equal to the greatest acknowledgment received" (SEG.ACK =
  // SND.UNA: an older ACK overtaken by a newer one is no duplicate, Linux tcp_ack old_ack),
  // and the same advertised window as before.
  const isDup =
    ack === c.sndUna &&
    seg.payload.length === 0 &&
    (seg.flags & (TcpFlag.SYN | TcpFlag.FIN)) === 0 &&
    seqGt(c.sndMax, c.sndUna) &&
    wnd === c.sndWnd;
  const inFlight = c.flightSize();
  if (acked > 0) newDataAcked(c, seg, ack);
  const dsack = c.scoreboard !== undefined ? updateScoreboard(c, seg, acked > 0) : false;
  // RFC 9293: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
  // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND,
  // set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
  if (seqGe(ack, c.sndUna) && (seqLt(c.sndWl1, seg.seq) || (c.sndWl1 === seg.seq && seqLe(c.sndWl2, ack)))) {
    updateWindow(c, wnd, seg.seq, ack);
  }
  if (acked === 0 && seg.payload.length === 0) k.TCPPureAcks++;
  // RFC 8985 6.2: RACK's per-ACK steps (delivered segments, reordering, loss marking, TLP).
  if (c.rack !== undefined) c.rack.onAck(c, seg, acked, dsack);
  c.recovery.onAck(c, acked, isDup, inFlight);
  return true;
}

/** SND.UNA < SEG.ACK =< SND.NXT: release acknowledged data, take an RTT sample, restart the timer. */
function newDataAcked(c: Connection, seg: Segment, ack: Seq): void {
  const now = c.ctx.clock.now();
  const sb = c.sendBuf;
  if (sb !== undefined) {
    const n = Math.min(Math.max(seqDiff(ack, c.bufSeq), 0), sb.length);
    sb.consume(n);
    c.bufSeq = seqAdd(c.bufSeq, n);
    c.bytesAcked += n;
  }
  if (c.finSent && ack === seqAdd(c.dataEnd(), 1)) c.finAcked = true;
  c.sndUna = ack;
  if (seqLt(c.sndNxt, ack)) c.sndNxt = ack;
  if (c.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) {
    // RFC 7323 4.1 / Appendix G: RTT = now - TSecr, from ACKs that acknowledge new data.
    const r = (c.tsNow() - seg.tsEcr) >>> 0;
    if (r < 0x7fffffff) c.rtt.sample(r);
  } else if (c.rttSeq !== undefined && seqGe(ack, c.rttSeq)) {
    // RFC 6298 3 / Karn: the timed segment was never retransmitted (else rttSeq was cleared).
    c.rtt.sample(now - c.rttTime);
    c.rttSeq = undefined;
  }
  c.rtt.resetBackoff();
  c.retransmits = 0;
  c.softError = undefined;
  if (c.sndUna === c.sndMax) {
    // RFC 6298 5.2: "When all outstanding data has been acknowledged, turn off the retransmission timer."
    if (c.rtxMode === 'rtx') {
      c.rtxMode = 'none';
      c.rtxTimer.cancel();
    }
  } else if (c.rtxMode !== 'persist') {
    // RFC 6298 5.3: "When an ACK is received that acknowledges new data, restart the retransmission timer".
    armRtx(c, now);
  }
  if (c.wantWritable && sb !== undefined && sb.free >= sb.capacity >>> 1) {
    c.wantWritable = false;
    c.raise(Ev.WRITABLE);
  }
}

/** Record the ACK's SACK blocks; true when the first one was a D-SACK (RFC 2883). */
function updateScoreboard(c: Connection, seg: Segment, advanced: boolean): boolean {
  const sb = c.scoreboard!;
  if (advanced) sb.advance(c.sndUna);
  let dsack = false;
  if (seg.sackCount > 0) {
    dsack = sb.update(c.sndUna, c.sndMax, seg.sackList).dsack;
    if (dsack) c.ctx.counters.TCPDSACKRecv++;
  }
  // Reneging (RFC 2018 8): the cumulative ACK stops at the start of data the receiver
  // SACKed earlier. Forget the SACK information; the RTO will resend (Linux TCPSACKReneging).
  if (sb.sackedBytes > 0 && sb.isSacked(c.sndUna, seqAdd(c.sndUna, 1))) {
    c.ctx.counters.TCPSACKReneging++;
    c.scoreboard = new SackScoreboard();
    c.rack?.onReneging();
  }
  return dsack;
}

function updateWindow(c: Connection, wnd: number, sq: Seq, ack: Seq): void {
  const was = c.sndWnd;
  c.sndWnd = wnd;
  c.sndWl1 = sq;
  c.sndWl2 = ack;
  if (wnd > c.maxSndWnd) c.maxSndWnd = wnd;
  if (was === 0 && wnd > 0) {
    // The zero window opened: the persist timer's job is done.
    c.persistBackoff = 0;
    if (c.rtxMode === 'persist') {
      c.rtxMode = 'none';
      c.rtxTimer.cancel();
    }
  }
}
