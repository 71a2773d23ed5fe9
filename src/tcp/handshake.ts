/**
 * Opening a connection: option negotiation from the peer's SYN, SEGMENT ARRIVES in
 * SYN-SENT (RFC 9293 3.10.7.3), the passive side's SYN-RECEIVED set-up (3.10.7.2 "third,
 * check for a SYN"), its completion (3.10.7.4 "fifth, check the ACK field", SYN-RECEIVED),
 * and connections created directly from a valid SYN cookie (RFC 4987 3.6).
 */
import { seq, seqAdd, seqGt, seqLe, type Seq } from '../core/seq.js';
import type { Connection } from './connection.js';
import { TcpFlag, type Segment } from './header.js';
import { chooseWscale, emitStateless, output, sendSyn } from './output.js';
import { receiveText } from './input.js';

const { SYN, ACK, RST, FIN } = TcpFlag;

/**
 * Take the peer's SYN options. RFC 9293 3.7.1: without an MSS option assume 536 (MUST-15);
 * RFC 7323 2.2: window scaling only when both SYNs carry the option; RFC 2018: SACK when
 * both offered SACK-permitted; RFC 7323 3.2: timestamps when both SYNs carry them.
 */
export function negotiateSyn(c: Connection, seg: Segment): void {
  const cfg = c.ctx.config;
  c.peerMss = seg.mss >= 0 ? seg.mss : 536;
  c.wsOk = cfg.windowScaling && seg.wscale >= 0;
  c.sndWscale = c.wsOk ? seg.wscale : 0;
  c.rcvWscale = c.wsOk ? chooseWscale(c.rcvCapacity) : 0;
  c.sackOk = cfg.sack && seg.sackPermitted;
  c.tsOk = cfg.timestamps && seg.hasTimestamp;
  if (c.tsOk) {
    c.tsRecent = seg.tsVal;
    c.tsRecentAge = c.ctx.clock.now();
  }
  c.negotiated();
}

/** RTT sample from the handshake: with timestamps from TSecr, else only if the SYN was not retransmitted (Karn). */
function handshakeRtt(c: Connection, seg: Segment): void {
  const now = c.ctx.clock.now();
  if (c.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) {
    const r = (c.tsNow() - seg.tsEcr) >>> 0;
    if (r < 0x7fffffff) c.rtt.sample(r);
  } else if (c.rttSeq !== undefined && seqLe(c.rttSeq, seg.ack)) {
    c.rtt.sample(now - c.rttTime);
  }
  c.rttSeq = undefined;
}

/** The peer's window from a SYN segment: never scaled (RFC 7323 2.2). */
function takeSynWindow(c: Connection, seg: Segment): void {
  c.sndWnd = seg.window;
  c.maxSndWnd = Math.max(c.maxSndWnd, seg.window);
  c.sndWl1 = seg.seq;
  c.sndWl2 = seg.ack;
}

/** RFC 9293 3.10.7.3: SEGMENT ARRIVES in SYN-SENT. */
export function synSentArrives(c: Connection, seg: Segment): void {
  const k = c.ctx.counters;
  let ackOk = false;
  // First, check the ACK bit.
  if (seg.flags & ACK) {
    if (seqLe(seg.ack, c.iss) || seqGt(seg.ack, c.sndMax)) {
      // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set ...) <SEQ=SEG.ACK><CTL=RST>"
      if (!(seg.flags & RST)) emitStateless(c.ctx, c.localAddr, c.remoteAddr, c.localPort, c.remotePort, seg.ack, 0, RST, 0);
      k.DropSynSent++;
      return;
    }
    ackOk = true;
  }
  // Second, check the RST bit: "If the ACK was acceptable, then signal to the user 'error:
  // connection reset'" (Linux: ECONNREFUSED); otherwise drop.
  if (seg.flags & RST) {
    if (ackOk) c.fail('ECONNREFUSED');
    else k.DropSynSent++;
    return;
  }
  // Fourth, check the SYN bit; fifth: neither SYN nor RST -> drop.
  if (!(seg.flags & SYN)) {
    k.DropSynSent++;
    return;
  }
  c.irs = seg.seq;
  c.rcvNxt = seqAdd(seg.seq, 1);
  // Our SYN offered min(buffer, 65535), unscaled: that is the right edge from RCV.NXT.
  c.rcvAdv = seqAdd(c.rcvNxt, Math.min(c.rcvCapacity, 0xffff));
  c.lastAckSent = c.rcvNxt;
  c.ensureRcvBuf().init(c.rcvNxt);
  negotiateSyn(c, seg);
  takeSynWindow(c, seg);
  if (ackOk) {
    // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
    // ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
    c.sndUna = seg.ack;
    handshakeRtt(c, seg);
    c.enterEstablished();
    c.ackSoon();
    // "If there are other controls or text in the segment, then continue processing at the
    // sixth step": the text starts after the SYN.
    if (seg.payload.length > 0 || seg.flags & FIN) {
      receiveText(c, seqAdd(seg.seq, 1), seg.payload, (seg.flags & FIN) !== 0);
    }
    output(c);
  } else {
    // Simultaneous open (MUST-10): "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS>
    // <ACK=RCV.NXT><CTL=SYN,ACK> and send it". Text in the SYN is not kept (no TFO).
    c.setState('SYN-RECEIVED');
    sendSyn(c);
  }
}

/** RFC 9293 3.10.7.2 LISTEN, a SYN: IRS, ISS, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, SYN-RECEIVED. */
export function openPassive(c: Connection, seg: Segment, isn: Seq): void {
  const now = c.ctx.clock.now();
  c.iss = isn;
  c.sndUna = isn;
  c.sndNxt = seqAdd(isn, 1);
  c.sndMax = c.sndNxt;
  c.bufSeq = c.sndNxt;
  c.irs = seg.seq;
  c.rcvNxt = seqAdd(seg.seq, 1);
  c.rcvAdv = c.rcvNxt;
  c.lastAckSent = c.rcvNxt;
  c.advMss = advertisedMss(c);
  negotiateSyn(c, seg);
  takeSynWindow(c, seg);
  c.setState('SYN-RECEIVED');
  if (!c.tsOk) {
    c.rttSeq = c.sndNxt;
    c.rttTime = now;
  }
  sendSyn(c);
}

/**
 * SYN-RECEIVED and "SND.UNA < SEG.ACK =< SND.NXT": enter ESTABLISHED with SND.WND <- SEG.WND,
 * SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK. A passive connection first needs room in its
 * listener's accept queue (Linux drops the ACK otherwise and lets the peer retransmit).
 * Returns false when the segment must be dropped.
 */
export function completeHandshake(c: Connection, seg: Segment): boolean {
  if (c.owner !== undefined && !c.owner.childEstablished(c)) return false;
  c.sndUna = seqAdd(c.iss, 1);
  handshakeRtt(c, seg);
  // RFC 7323 2.2: the window of a <SYN,ACK> (the simultaneous-open shortcut) is never scaled.
  const wnd = seg.flags & SYN ? seg.window : seg.window * 2 ** c.sndWscale;
  c.sndWnd = wnd;
  c.maxSndWnd = Math.max(c.maxSndWnd, wnd);
  c.sndWl1 = seg.seq;
  c.sndWl2 = seg.ack;
  const rb = c.rcvBuf;
  if (rb === undefined) c.ensureRcvBuf().init(c.rcvNxt);
  c.enterEstablished();
  return true;
}

/** The MSS to announce: what our interface toward the peer can receive (MUST-67), clamped by TCP_MAXSEG. */
export function advertisedMss(c: Connection): number {
  let m = c.ctx.ip.pathMtu(c.remoteAddr) - 40;
  if (c.opts.maxSegment > 0) m = Math.min(m, c.opts.maxSegment);
  return Math.max(m, c.ctx.config.minMss);
}

/** Options recovered from a SYN cookie's echoed timestamp (Linux cookie_timestamp_decode). */
export interface CookieOptions {
  wscale: number | undefined;
  sackOk: boolean;
}

/**
 * A valid SYN cookie ACK (RFC 4987 3.6): the connection starts directly in ESTABLISHED with
 * ISS = SEG.ACK - 1, IRS = SEG.SEQ - 1, the MSS from the cookie, and window scale / SACK
 * from the echoed timestamp when the peer uses timestamps (otherwise none of them).
 */
export function openFromCookie(c: Connection, seg: Segment, mss: number, opts: CookieOptions | undefined): void {
  const cfg = c.ctx.config;
  c.iss = seq(seg.ack - 1);
  c.sndUna = seg.ack;
  c.sndNxt = seg.ack;
  c.sndMax = seg.ack;
  c.bufSeq = seg.ack;
  c.irs = seq(seg.seq - 1);
  c.rcvNxt = seg.seq;
  c.lastAckSent = seg.seq;
  c.advMss = advertisedMss(c);
  c.peerMss = mss;
  c.tsOk = cfg.timestamps && seg.hasTimestamp && opts !== undefined;
  if (c.tsOk && opts !== undefined) {
    c.wsOk = cfg.windowScaling && opts.wscale !== undefined;
    c.sndWscale = c.wsOk ? opts.wscale! : 0;
    c.rcvWscale = c.wsOk ? chooseWscale(c.rcvCapacity) : 0;
    c.sackOk = cfg.sack && opts.sackOk;
    c.tsRecent = seg.tsVal;
    c.tsRecentAge = c.ctx.clock.now();
  }
  c.negotiated();
  // The SYN-ACK advertised min(buffer, 65535) unscaled.
  c.rcvAdv = seqAdd(c.rcvNxt, Math.min(c.rcvCapacity, 0xffff));
  const wnd = seg.window * 2 ** c.sndWscale;
  c.sndWnd = wnd;
  c.maxSndWnd = wnd;
  c.sndWl1 = seg.seq;
  c.sndWl2 = seg.ack;
  c.ensureRcvBuf().init(c.rcvNxt);
  c.setState('SYN-RECEIVED');
  c.enterEstablished();
}
