/**
 * SEGMENT ARRIVES for a connection (RFC 9293 3.10.7.3 SYN-SENT via handshake.ts, and
 * 3.10.7.4 for every synchronized state), and the receiving half: trimming to the window,
 * reassembly into the ReceiveBuffer, the FIN, and when to acknowledge (RFC 1122 4.2.3.2,
 * RFC 5681 4.2).
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, type Seq } from '../core/seq.js';
import { challengeAck, processAck } from './ack.js';
import { Ev, type Connection } from './connection.js';
import { TcpFlag, type Segment } from './header.js';
import { completeHandshake, synSentArrives } from './handshake.js';
import { emitStateless, output, sendAckNow, sendRst, sendSyn } from './output.js';
import { armFinWait2 } from './timers.js';

const { SYN, ACK, RST, FIN } = TcpFlag;
const EMPTY = new Uint8Array(0);
/** RFC 7323 5.5: TS.Recent is invalid after 24 days of idleness. */
const PAWS_IDLE_LIMIT_MS = 24 * 24 * 3600 * 1000;

/** Dispatch a segment addressed to this connection. */
export function segmentArrives(c: Connection, seg: Segment): void {
  c.lastRecvTime = c.ctx.clock.now();
  c.keepProbes = 0;
  if (c.state === 'SYN-SENT') synSentArrives(c, seg);
  else if (c.state !== 'CLOSED' && c.state !== 'LISTEN') synchronizedArrives(c, seg);
}

/**
 * RFC 9293 3.10.7.4, first step: the four acceptability cases of Table 6.
 *   len 0, wnd 0:  SEG.SEQ = RCV.NXT
 *   len 0, wnd >0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *   len >0, wnd 0: not acceptable
 *   len >0, wnd >0: either the first or the last octet inside the window
 */
export function acceptable(sq: Seq, len: number, rcvNxt: Seq, rcvWnd: number): boolean {
  if (len === 0) {
    if (rcvWnd === 0) return sq === rcvNxt;
    return seqGe(sq, rcvNxt) && seqLt(sq, seqAdd(rcvNxt, rcvWnd));
  }
  if (rcvWnd === 0) return false;
  const end = seqAdd(rcvNxt, rcvWnd);
  const last = seqAdd(sq, len - 1);
  return (seqGe(sq, rcvNxt) && seqLt(sq, end)) || (seqGe(last, rcvNxt) && seqLt(last, end));
}

function synchronizedArrives(c: Connection, seg: Segment): void {
  const ctx = c.ctx;
  const k = ctx.counters;
  const now = ctx.clock.now();
  const rst = (seg.flags & RST) !== 0;
  const syn = (seg.flags & SYN) !== 0;

  // SYN-RECEIVED and the peer's SYN again (our SYN-ACK was lost): send the SYN-ACK again
  // (Linux tcp_check_req) instead of the plain ACK the sequence check would produce.
  if (c.state === 'SYN-RECEIVED' && syn && !rst && !(seg.flags & ACK) && seg.seq === c.irs) {
    sendSyn(c, true);
    return;
  }

  // Simultaneous open, the peer's SYN-ACK: it repeats its SYN (not acceptable by the
  // sequence test) but acknowledges ours. Linux (tcp_validate_incoming) takes its ACK and
  // completes the handshake at once; the plain sequence check would only answer with an ACK.
  if (c.state === 'SYN-RECEIVED' && !c.passive && syn && !rst && seg.flags & ACK && seg.seq === c.irs && seg.ack === c.sndMax) {
    if (completeHandshake(c, seg)) {
      c.ackSoon();
      // Data written (or a FIN queued) before the handshake completed goes out now.
      output(c);
    }
    return;
  }

  // RFC 7323 5.3 R1 (PAWS): a timestamp older than TS.Recent makes the segment unacceptable:
  // ACK it (not a RST) and drop it.
  if (c.tsOk && seg.hasTimestamp && !rst && now - c.tsRecentAge < PAWS_IDLE_LIMIT_MS && ((seg.tsVal - c.tsRecent) | 0) < 0) {
    k.PAWSEstab++;
    ctx.debug(() => `${c.name()} PAWS: TSval ${seg.tsVal} older than TS.Recent ${c.tsRecent}`);
    c.ackSoon();
    return;
  }

  // First, check the sequence number.
  const rcvWnd = Math.max(0, seqDiff(c.rcvAdv, c.rcvNxt));
  let dropText = false;
  if (!acceptable(seg.seq, seg.len, c.rcvNxt, rcvWnd)) {
    // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should
    // be made to accept valid ACKs, URGs, and RSTs" (MUST-66): a segment at RCV.NXT is
    // processed for its controls with its text dropped. Its text is a zero-window probe
    // (BSD and Windows probe with one octet of new data): it is answered with an ACK below
    // like any unacceptable segment, or the prober never learns the window state (Linux
    // tcp_data_queue: out_of_window -> ACK). A bare FIN is taken even so: it costs no buffer
    // space (Linux accepts it too, for stacks that send FINs into a zero window).
    if (rcvWnd === 0 && seg.seq === c.rcvNxt) {
      dropText = seg.payload.length > 0 || !(seg.flags & FIN);
    } else {
      k.DropOutOfWindow++;
      if (rst) return; // "unless the RST bit is set, if so drop the segment and return"
      if (c.state === 'TIME-WAIT' && seg.flags & FIN && seg.end === c.rcvNxt) {
        // "The only thing that can arrive in this state is a retransmission of the remote
        // FIN. Acknowledge it, and restart the 2 MSL timeout."
        c.keepTimer.arm(now + 2 * ctx.config.msl);
      }
      // RFC 2883: a complete duplicate is reported as a D-SACK block.
      if (c.sackOk && seg.payload.length > 0 && seqLe(seg.end, c.rcvNxt)) {
        noteDsack(c, seg.seq, seqAdd(seg.seq, seg.payload.length));
      }
      // "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" ... "After sending the acknowledgment, drop the
      // unacceptable segment and return."
      c.ackSoon();
      ctx.debug(() => `${c.name()} unacceptable seq=${seg.seq} len=${seg.len} rcv.nxt=${c.rcvNxt} wnd=${rcvWnd}`);
      return;
    }
  }

  // Second, check the RST bit (RFC 5961 3.2, RFC 9293 3.10.7.4).
  if (rst) {
    if (seg.seq === c.rcvNxt) resetByPeer(c);
    else challengeAck(c); // in the window but not exactly RCV.NXT: challenge ACK, drop
    return;
  }

  // Fourth, check the SYN bit.
  if (syn) {
    if (c.state === 'SYN-RECEIVED' && c.passive) {
      // "If the connection was initiated with a passive OPEN, then return this connection to
      // the LISTEN state and return." Linux resets the embryonic connection.
      k.AttemptFails++;
      rstForSegment(c, seg);
      c.destroy();
      return;
    }
    // RFC 5961 4.2: a SYN in a synchronized state, whatever its sequence number: challenge ACK.
    challengeAck(c);
    return;
  }

  // Fifth, check the ACK field.
  if (!(seg.flags & ACK)) {
    k.DropNoAck++;
    ctx.debug(() => `${c.name()} drop: no ACK bit (seq=${seg.seq})`);
    return;
  }
  if (c.state === 'SYN-RECEIVED') {
    if (!(seqLt(c.sndUna, seg.ack) && seqLe(seg.ack, c.sndMax))) {
      // "If the segment acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>"
      k.DropBadAck++;
      emitStateless(ctx, c.localAddr, c.remoteAddr, c.localPort, c.remotePort, seg.ack, 0, RST, 0);
      return;
    }
    if (!completeHandshake(c, seg)) return;
  }

  // RFC 7323 4.3 / 5.3 R3: "If SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent then
  // TS.Recent <- SEG.TSval" (PAWS above already rejected older values).
  if (c.tsOk && seg.hasTimestamp && seqLe(seg.seq, c.lastAckSent)) {
    c.tsRecent = seg.tsVal;
    c.tsRecentAge = now;
  }

  if (!processAck(c, seg)) return;

  switch (c.state) {
    case 'FIN-WAIT-1':
      // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2"
      if (c.finAcked) {
        c.setState('FIN-WAIT-2');
        if (c.orphan) armFinWait2(c);
      }
      break;
    case 'CLOSING':
      // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise, ignore the segment"
      if (c.finAcked) c.enterTimeWait();
      break;
    case 'LAST-ACK':
      // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return."
      if (c.finAcked) {
        c.destroy();
        return;
      }
      break;
    default:
      break;
  }

  // Sixth (URG): urgent data is delivered inline (SO_OOBINLINE-like); the pointer is ignored.
  // Seventh and eighth: the text and the FIN.
  const dataSeq = seg.seq;
  if (dropText) {
    if (seg.len > 0) {
      // The text of a segment that did not fit the zero window: "send an acknowledgment ...
      // drop the unacceptable segment" (only its controls were processed above).
      k.DropOutOfWindow++;
      ctx.debug(() => `${c.name()} zero window: ${seg.payload.length} octets at ${seg.seq} dropped, ACK`);
      c.ackSoon();
    }
  } else {
    receiveText(c, dataSeq, seg.payload, (seg.flags & FIN) !== 0);
  }
  if (c.state !== 'CLOSED') output(c);
}

/** RFC 9293 3.10.7.4 "second, check the RST bit", an RST exactly at RCV.NXT, per state. */
function resetByPeer(c: Connection): void {
  switch (c.state) {
    case 'SYN-RECEIVED':
      if (c.passive) {
        // "return this connection to LISTEN state and return. The user need not be informed."
        c.ctx.counters.AttemptFails++;
        c.destroy();
      } else {
        c.fail('ECONNREFUSED');
      }
      break;
    case 'ESTABLISHED':
    case 'FIN-WAIT-1':
    case 'FIN-WAIT-2':
    case 'CLOSE-WAIT':
      c.fail('ECONNRESET');
      break;
    default:
      // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
      c.destroy();
      break;
  }
}

/** RFC 9293 3.10.7.1 reset for a segment we refuse. */
function rstForSegment(c: Connection, seg: Segment): void {
  if (seg.flags & ACK) {
    emitStateless(c.ctx, c.localAddr, c.remoteAddr, c.localPort, c.remotePort, seg.ack, 0, RST, 0);
  } else {
    emitStateless(c.ctx, c.localAddr, c.remoteAddr, c.localPort, c.remotePort, 0, seg.end, RST | ACK, 0);
  }
}

/**
 * Seventh and eighth steps: segment text and FIN, for a segment that passed the checks.
 * `dataSeq` is the sequence number of the first payload octet.
 */
export function receiveText(c: Connection, dataSeq: Seq, payload: Uint8Array, fin: boolean): void {
  const k = c.ctx.counters;
  const st = c.state;
  const finSeq = seqAdd(dataSeq, payload.length);
  if (st !== 'ESTABLISHED' && st !== 'FIN-WAIT-1' && st !== 'FIN-WAIT-2') {
    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has been
    // received from the remote side. Ignore the segment text." A repeated FIN is re-ACKed;
    // in TIME-WAIT it also restarts the 2 MSL timeout.
    if (fin) {
      if (st === 'TIME-WAIT') c.keepTimer.arm(c.ctx.clock.now() + 2 * c.ctx.config.msl);
      c.ackSoon();
    }
    return;
  }
  let data = payload;
  let sq = dataSeq;
  // Only the new parts are processed: trim what is below RCV.NXT ...
  const before = seqDiff(c.rcvNxt, sq);
  if (before > 0) {
    data = before >= data.length ? EMPTY : data.subarray(before);
    sq = c.rcvNxt;
  }
  // ... and what lies beyond the window we advertised. A FIN right after the last octet
  // that fits is kept: it needs no buffer space (a FIN on the segment that fills the window
  // exactly is common, and Linux takes it too); a FIN after trimmed text is not.
  const room = seqDiff(c.rcvAdv, sq);
  if (data.length > room) data = room > 0 ? data.subarray(0, room) : EMPTY;
  if (fin && seqGt(finSeq, c.rcvAdv)) fin = false;

  if (data.length > 0) {
    // Linux TCPAbortOnData: data for an application that closed its socket draws a RST.
    if (c.orphan) {
      k.TCPAbortOnData++;
      sendRst(c);
      c.destroy();
      return;
    }
    receiveData(c, sq, data, payload.length);
  } else if (payload.length > 0) {
    // Entirely old data (a retransmission): RFC 5681 4.2, ACK it at once (a duplicate ACK).
    if (c.sackOk && seqLt(dataSeq, c.rcvNxt)) {
      noteDsack(c, dataSeq, seqLt(finSeq, c.rcvNxt) ? finSeq : c.rcvNxt);
    }
    c.ackSoon();
  }

  if (fin && !c.finReceived) {
    if (c.pendingFin === undefined || seqLt(finSeq, c.pendingFin)) c.pendingFin = finSeq;
  }
  const rb = c.rcvBuf!;
  if (c.pendingFin !== undefined && !c.finReceived) {
    if (c.pendingFin === rb.rcvNxt) acceptFin(c);
    else if (fin && data.length === 0) sendAckNow(c); // a bare FIN beyond a hole: like out-of-order data
  }
}

/** In-window data: store it, then decide how to acknowledge. */
function receiveData(c: Connection, sq: Seq, data: Uint8Array, segLen: number): void {
  const cfg = c.ctx.config;
  const rb = c.rcvBuf!;
  // Linux tcp_measure_rcv_mss: the peer's segment size, bounded by what we announced.
  const seen = Math.min(segLen, c.advMss);
  if (seen > c.rcvMssEst) c.rcvMssEst = seen;
  const inOrder = sq === rb.rcvNxt;
  const hadHoles = rb.outOfOrderBytes > 0;
  const ranges = rb.rangeCount;
  const adv = rb.write(sq, data);
  let dsack = false;
  if (c.sackOk) {
    const d = rb.dsackBlock();
    if (d !== undefined) {
      noteDsack(c, d.start, d.end);
      dsack = true;
    }
  }
  if (adv > 0) {
    c.rcvNxt = rb.rcvNxt;
    c.bytesReceived += adv;
    if (c.readShut) discard(c);
    else c.raise(Ev.READABLE);
  }
  if (!inOrder) {
    c.ctx.counters.TCPOFOQueue++;
    // RFC 5681 4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
    // segment arrives" — one per segment, so that a sender can count them (RFC 5681 3.2). A
    // SACK sender does not count: it reads the SACK blocks (RFC 6675 IsLost), so with SACK
    // (like Linux's SACK compression, tcp_comp_sack, which sends 3 and then one per 1 ms or
    // 44 segments) the ACKs of one receive batch are coalesced: a segment that opens a new
    // SACK block, or carries a D-SACK, is ACKed at once, so every block is reported first in
    // an ACK of its own (RFC 2018 4); segments that only extend a block are ACKed once at
    // the end of the batch, with the newest blocks. Without it every out-of-order segment
    // costs an ACK, which under loss costs more than the data (the sender's ACK processing
    // runs in our write()s on a TAP).
    if (!c.sackOk || dsack || rb.rangeCount > ranges) sendAckNow(c);
    else c.ackSoon();
    return;
  }
  if (hadHoles) {
    // "... SHOULD send an immediate ACK when the incoming segment fills in all or part of a gap"
    // (at the end of this receive batch, so a FIN in the same batch shares it).
    c.ackSoon();
    return;
  }
  // RFC 1122 4.2.3.2 / RFC 5681 4.2 (SHLD-18, SHLD-19): ACK at least every second full-sized
  // segment; otherwise within delayedAckMs (< 500 ms, MUST-40). A segment longer than any
  // the peer sends alone is a GRO/GSO super-segment (the kernel merged several full-sized
  // ones through the TAP): it counts as that many segments, so it is ACKed at once, as
  // Linux does for a GRO packet (at the end of the receive batch, like any ackSoon()).
  if (segLen > c.rcvMssEst || seqDiff(c.rcvNxt, c.lastAckSent) >= 2 * c.rcvMssEst) {
    c.ackSoon();
  } else if (c.delackTimer.deadline === undefined) {
    c.delackTimer.arm(c.ctx.clock.now() + cfg.delayedAckMs);
  }
}

/**
 * Record a D-SACK block (RFC 2883) for the next ACK. ACKs are coalesced per receive batch,
 * but every duplicate must be reported (a Linux sender undoes a needless cwnd reduction
 * only once each spurious retransmission was D-SACKed): a different block still waiting
 * for its ACK goes out first.
 */
function noteDsack(c: Connection, start: Seq, end: Seq): void {
  if (c.dsackStart !== c.dsackEnd && (c.dsackStart !== start || c.dsackEnd !== end)) sendAckNow(c);
  c.dsackStart = start;
  c.dsackEnd = end;
}

/** shutdown('rd'): received data is acknowledged and thrown away. */
function discard(c: Connection): void {
  const rb = c.rcvBuf!;
  const scratch = c.ctx.ip.scratch;
  // The IP scratch buffer is free between sends; use it as a sink.
  while (rb.readable > 0) rb.read(scratch.subarray(0, Math.min(rb.readable, scratch.length)));
}

/**
 * Eighth step, the FIN is in sequence: "signal the user 'connection closing' ..., advance
 * RCV.NXT over the FIN, and send an acknowledgment for the FIN", then per state.
 */
function acceptFin(c: Connection): void {
  c.finReceived = true;
  c.rcvNxt = seqAdd(c.pendingFin!, 1);
  c.pendingFin = undefined;
  c.raise(Ev.READABLE);
  c.ackSoon();
  switch (c.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      c.setState('CLOSE-WAIT');
      break;
    case 'FIN-WAIT-1':
      // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT ...; otherwise, enter the CLOSING state."
      if (c.finAcked) c.enterTimeWait();
      else c.setState('CLOSING');
      break;
    case 'FIN-WAIT-2':
      c.enterTimeWait();
      break;
    default:
      break;
  }
}

/**
 * True when a SYN may reopen a connection in TIME-WAIT (RFC 9293 MAY-2, RFC 6191; Linux
 * tcp_timewait_state_process): not rejected by PAWS (an older TSval is an old duplicate), and
 * either its sequence number is above RCV.NXT or its timestamp is newer than TS.Recent.
 */
export function timeWaitAcceptsSyn(c: Connection, seg: Segment): boolean {
  if (c.state !== 'TIME-WAIT' || !(seg.flags & SYN) || seg.flags & (ACK | RST)) return false;
  const tsDiff = c.tsOk && seg.hasTimestamp ? (seg.tsVal - c.tsRecent) | 0 : 0;
  if (tsDiff < 0) return false;
  return seqGt(seg.seq, c.rcvNxt) || tsDiff > 0;
}
