/**
 * The sending half: deciding what may go out now (send window, congestion window, sender
 * SWS avoidance and Nagle), building segments in place in the IP layer's scratch buffer,
 * and the control segments (SYN, ACK, RST, probes). Also the receive window we advertise
 * (receiver SWS avoidance, window scaling), since every segment carries it.
 *
 * Offloads (IpSender.offloads): with checksum offload every segment leaves with only the
 * pseudo-header sum in its checksum field and the device completes it; with TSO, new data
 * goes out in super-segments of up to 64 KB (a multiple of the MSS, plus a tail only where
 * Nagle would send it) that the device cuts into MSS-sized segments. Everything else stays
 * in MSS units: retransmissions, SACK recovery, probes and the Nagle/SWS decisions.
 */
import type { ErrnoName } from '../core/errno.js';
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, type Seq } from '../core/seq.js';
import type { IpSendOptions } from '../ip/types.js';
import { canSendData, type Connection } from './connection.js';
import type { TcpContext } from './context.js';
import {
  IPPROTO_TCP,
  MAX_WINDOW_SCALE,
  OptionsOut,
  setChecksum,
  setPartialChecksum,
  TCP_CHECKSUM_OFFSET,
  TCP_HEADER_LEN,
  TcpFlag,
  writeHeaderRaw,
  writeOptions,
} from './header.js';

const DF: IpSendOptions = Object.freeze({ dontFragment: true });
/** DF, and the device completes the checksum. */
const DF_CSUM: IpSendOptions = Object.freeze({ dontFragment: true, csumOffset: TCP_CHECKSUM_OFFSET });
/** IPv4 header without options, in front of every TSO segment. */
const IP_HEADER_LEN = 20;
const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

/** RFC 7323 2.3: the smallest shift that lets the 16-bit field describe the whole buffer. */
export function chooseWscale(capacity: number): number {
  let ws = 0;
  while (ws < MAX_WINDOW_SCALE && capacity >>> ws > 0xffff) ws++;
  return ws;
}

// ---------------------------------------------------------------- receive window

/**
 * The window field for a non-SYN segment, updating RCV.ADV (the advertised right edge).
 * RFC 1122 4.2.3.3 (MUST-39) receiver SWS avoidance: the right edge moves only when it can
 * move by min(RCV.BUFF/2, Eff.snd.MSS); RFC 9293 3.8.6.2.2 (SHLD-14): never shrink it,
 * also not through the rounding of window scaling (RFC 7323 2.3).
 */
export function windowField(c: Connection): number {
  const free = freeWindow(c);
  const cur = Math.max(0, seqDiff(c.rcvAdv, c.rcvNxt));
  let wnd = cur;
  if (free > cur && free - cur >= swsStep(c)) wnd = free;
  // Shifts, not `2 ** ws` (a Math.pow call): scales are at most 14, so 0xffff << 14 fits.
  const ws = c.rcvWscale;
  const unit = 1 << ws;
  let field = Math.floor(wnd / unit);
  if (field * unit < cur) field = Math.ceil(cur / unit);
  if (field > 0xffff) field = 0xffff;
  const edge = seqAdd(c.rcvNxt, field * unit);
  if (seqGt(edge, c.rcvAdv)) c.rcvAdv = edge;
  return field;
}

/** What the buffer could take now, capped to what the window field can express. */
function freeWindow(c: Connection): number {
  const free = c.rcvBuf ? c.rcvBuf.window : c.rcvCapacity;
  return Math.min(free, 0xffff << c.rcvWscale);
}

/** RFC 1122 4.2.3.3: min(Fr * RCV.BUFF, Eff.snd.MSS) with Fr = 1/2. */
function swsStep(c: Connection): number {
  return Math.min(c.rcvCapacity >>> 1, c.mss);
}

/**
 * After the application read: send a window update if the window opened a lot (Linux
 * tcp_cleanup_rbuf: the new window is at least twice the old one; or it grew by 2*MSS or
 * half the buffer). Without it the peer would wait for its persist timer.
 */
export function maybeWindowUpdate(c: Connection): void {
  const rb = c.rcvBuf;
  if (rb === undefined) return;
  const cur = Math.max(0, seqDiff(c.rcvAdv, c.rcvNxt));
  const free = freeWindow(c);
  if (free <= cur || free - cur < swsStep(c)) return;
  const grow = free - cur;
  if (free >= 2 * cur || grow >= Math.min(2 * c.rcvMssEst, rb.capacity >>> 1)) c.ackSoon();
}

// ---------------------------------------------------------------- building segments

/** Fill SACK blocks (RFC 2018 4; RFC 2883 D-SACK first) into `o`; returns the count. */
function fillSack(c: Connection, o: OptionsOut): number {
  const rb = c.rcvBuf;
  if (rb === undefined) return 0;
  const max = c.tsOk ? 3 : 4;
  let n = 0;
  if (c.dsackStart !== c.dsackEnd) {
    const b = o.sackBlocks[0]!;
    b.start = c.dsackStart;
    b.end = c.dsackEnd;
    n = 1;
  }
  if (rb.outOfOrderBytes > 0) {
    const s = c.ctx.sackScratch;
    const k = rb.sackBlocksInto(s, max - n);
    for (let i = 0; i < k; i++) {
      const b = o.sackBlocks[n + i]!;
      b.start = s[2 * i]! as Seq;
      b.end = s[2 * i + 1]! as Seq;
    }
    n += k;
  }
  o.sackCount = n;
  return n;
}

/** Largest payload for the next data segment: MSS minus the options it will carry (MUST-16). */
export function maxPayload(c: Connection): number {
  let room = c.mss;
  if (c.sackOk && c.rcvBuf && (c.rcvBuf.outOfOrderBytes > 0 || c.dsackStart !== c.dsackEnd)) {
    const n = fillSack(c, c.ctx.optionsOut.clear());
    if (n > 0) room -= 4 + 8 * n;
  }
  return room;
}

/**
 * Build one segment in ip.scratch and send it. Data comes from the send buffer at `sq`.
 * SYN segments carry the SYN options and an unscaled window (RFC 7323 2.2); other ACKs
 * carry timestamps and SACK blocks when negotiated. Returns the IP layer's error, if any.
 * `gsoSize` > 0 makes it a TSO super-segment of dataLen octets cut into gsoSize pieces by
 * the device; `offload` false forces a complete checksum (the fallback when IP says EAGAIN).
 */
export function emit(c: Connection, sq: Seq, flags: number, dataLen: number, isRtx: boolean, gsoSize = 0, offload = true): ErrnoName | undefined {
  const ctx = c.ctx;
  const cfg = ctx.config;
  const b = ctx.ip.scratch;
  const o = ctx.optionsOut.clear();
  let window = 0;
  if (flags & SYN) {
    // RFC 9293 3.7.1 (MUST-14, MUST-67): announce the MSS we can receive.
    o.mss = c.advMss;
    if (c.state === 'SYN-SENT' && !(flags & ACK)) {
      if (cfg.windowScaling) o.wscale = c.rcvWscale;
      o.sackPermitted = cfg.sack;
      o.timestamp = cfg.timestamps;
    } else {
      // RFC 7323 1.3 / RFC 2018 2: in the <SYN,ACK> only what the peer's SYN offered.
      if (c.wsOk) o.wscale = c.rcvWscale;
      o.sackPermitted = c.sackOk;
      o.timestamp = c.tsOk;
    }
    if (o.timestamp) {
      o.tsVal = c.tsNow();
      o.tsEcr = flags & ACK ? c.tsRecent : 0;
    }
    window = Math.min(c.rcvCapacity, 0xffff);
    if (flags & ACK) {
      const edge = seqAdd(c.rcvNxt, window);
      if (seqGt(edge, c.rcvAdv)) c.rcvAdv = edge;
    }
  } else if (!(flags & RST)) {
    if (c.tsOk) {
      o.timestamp = true;
      o.tsVal = c.tsNow();
      o.tsEcr = c.tsRecent;
    }
    if (c.sackOk) fillSack(c, o);
    window = windowField(c);
  }
  const hl = TCP_HEADER_LEN + writeOptions(b, TCP_HEADER_LEN, o);
  const ack = flags & ACK ? c.rcvNxt : 0;
  writeHeaderRaw(b, c.localPort, c.remotePort, sq, ack, flags, window, hl);
  if (dataLen > 0) c.sendBuf!.copyOut(seqDiff(sq, c.bufSeq), dataLen, b, hl);
  const len = hl + dataLen;
  let err: ErrnoName | undefined;
  if (offload && ctx.ip.offloads?.csum === true) {
    setPartialChecksum(b, len, c.localAddr, c.remoteAddr);
    const tso = gsoSize > 0 && dataLen > gsoSize;
    err = ctx.ip.send(c.remoteAddr, IPPROTO_TCP, len, tso ? { dontFragment: true, csumOffset: TCP_CHECKSUM_OFFSET, gsoSize } : DF_CSUM);
    if (err === 'EAGAIN') {
      // The device cannot take it now (e.g. the next hop is being resolved): send the same
      // octets as plain MSS-sized segments with complete checksums.
      if (!tso) return emit(c, sq, flags, dataLen, isRtx, 0, false);
      return emitSegmented(c, sq, flags, dataLen, isRtx, gsoSize);
    }
  } else {
    setChecksum(b, len, c.localAddr, c.remoteAddr);
    err = ctx.ip.send(c.remoteAddr, IPPROTO_TCP, len, DF);
  }
  const k = ctx.counters;
  // Linux counts a TSO super-segment as the segments it becomes (tcp_skb_pcount).
  const segs = gsoSize > 0 && dataLen > gsoSize ? Math.ceil(dataLen / gsoSize) : 1;
  if (isRtx) k.RetransSegs += segs;
  else k.OutSegs += segs;
  if (flags & RST) k.OutRsts++;
  if (flags & ACK) {
    c.ackNow = false;
    c.lastAckSent = c.rcvNxt;
    c.dsackEnd = c.dsackStart;
    if (c.delackTimer.deadline !== undefined) c.delackTimer.cancel();
  }
  if (err === 'ENETUNREACH' || err === 'EHOSTUNREACH') {
    c.softError = err;
  } else if (err === 'EMSGSIZE') {
    // The IP layer knows a smaller path MTU than our MSS assumed: use it from now on (the
    // lost segment is repaired like any other loss).
    const clamp = Math.min(c.mssClamp, ctx.ip.pathMtu(c.remoteAddr) - 40);
    if (clamp < c.mssClamp) {
      c.setMssClamp(clamp);
      c.cc.setMss(c.mss);
    }
  }
  return err;
}

/**
 * A TSO super-segment the device turned down, as the segments it would have become: the
 * same octets in gsoSize pieces, FIN and PSH on the last only (Linux tcp_gso_segment).
 */
function emitSegmented(c: Connection, sq: Seq, flags: number, dataLen: number, isRtx: boolean, gsoSize: number): ErrnoName | undefined {
  let err: ErrnoName | undefined;
  for (let off = 0; off < dataLen; off += gsoSize) {
    const n = Math.min(gsoSize, dataLen - off);
    const last = off + n >= dataLen;
    err = emit(c, seqAdd(sq, off), last ? flags : flags & ~(FIN | PSH), n, isRtx, 0, false);
  }
  return err;
}

/**
 * Send the stream range [start, start+len) (len 0 = a bare FIN) with FIN when `fin`.
 * Keeps SND.NXT/SND.MAX, Karn's timing and RFC 6298 5.1 ("every time a packet containing
 * data is sent ... if the timer is not running, start it"). `gsoSize` > 0: a TSO
 * super-segment of len octets (see emit()), one transmission of ceil(len / gsoSize)
 * segments for every purpose here (the timed sequence number is its end).
 */
export function sendSegment(c: Connection, start: Seq, len: number, fin: boolean, gsoSize = 0): Seq {
  const now = c.ctx.clock.now();
  const dataEnd = seqAdd(start, len);
  let flags = ACK;
  if (fin) flags |= FIN;
  // MUST-61: PSH on the segment that empties the send buffer.
  if (len > 0 && dataEnd === c.dataEnd()) flags |= PSH;
  const isRtx = seqLt(start, c.sndMax);
  emit(c, start, flags, len, isRtx, gsoSize);
  const end = fin ? seqAdd(dataEnd, 1) : dataEnd;
  if (isRtx) {
    c.totalRetransmits++;
    // Karn (RFC 6298 3, MUST-18): no RTT sample from a retransmitted segment.
    if (c.rttSeq !== undefined && seqLt(start, c.rttSeq)) c.rttSeq = undefined;
  } else if (c.rttSeq === undefined && !c.tsOk) {
    c.rttSeq = end;
    c.rttTime = now;
  }
  if (seqGt(end, c.sndNxt)) c.sndNxt = end;
  if (seqGt(end, c.sndMax)) {
    if (len > 0) c.bytesSent += seqDiff(dataEnd, seqMax(start, c.sndMax));
    c.sndMax = end;
  }
  if (fin) c.finSent = true;
  if (len > 0) c.lastDataSent = now;
  if (c.rtxMode !== 'rtx') armRtx(c, now);
  // RFC 8985 6.1: the transmit time of every segment (and the PTO after new data, 7.2).
  if (c.rack !== undefined && seqLt(start, end)) c.rack.onTransmit(c, start, end, now, isRtx);
  return end;
}

/**
 * Re-send up to `maxLen` octets of already-sent data from `start`, with the FIN when it was
 * sent and this segment reaches it. Returns the end (exclusive).
 */
export function retransmit(c: Connection, start: Seq, maxLen: number): Seq {
  const dataEnd = c.dataEnd();
  const len = Math.max(0, Math.min(maxLen, maxPayload(c), seqDiff(dataEnd, start)));
  const fin = c.finSent && seqAdd(start, len) === dataEnd;
  if (len === 0 && !fin) return start;
  return sendSegment(c, start, len, fin);
}

/**
 * (Re)start the retransmission timer for now + RTO. Restarting on every ACK (RFC 6298 5.3)
 * only moves `rtxDeadline`; the Timer itself is re-armed when it fires early (Linux-like
 * lazy re-arming), so the timer heap is not touched per ACK.
 */
export function armRtx(c: Connection, now = c.ctx.clock.now()): void {
  const d = now + c.rtt.rto;
  const wasRtx = c.rtxMode === 'rtx';
  c.rtxMode = 'rtx';
  c.rtxDeadline = d;
  const cur = c.rtxTimer.deadline;
  if (!wasRtx || cur === undefined || cur > d) c.rtxTimer.arm(d);
}

/** RFC 9293 3.8.6.1 (SHLD-29, SHLD-30): first probe after one RTO, then exponential backoff. */
export function armPersist(c: Connection): void {
  c.rtxMode = 'persist';
  const t = Math.min(c.rtt.rto * 2 ** Math.min(c.persistBackoff, 30), c.ctx.config.maxRto);
  c.rtxDeadline = c.ctx.clock.now() + t;
  c.rtxTimer.arm(c.rtxDeadline);
}

// ---------------------------------------------------------------- what to send

/**
 * tcp_output: send as much new (or, after an RTO, re-sent) data as the windows allow.
 * RFC 5681: at most min(cwnd, rwnd) octets in flight; RFC 1122 4.2.3.4 (MUST-38) sender
 * SWS avoidance and the Nagle algorithm (RFC 896, SHLD-7; TCP_NODELAY disables, MUST-17).
 */
export function output(c: Connection): void {
  if (!canSendData(c.state) || c.sendBuf === undefined) return;
  if (c.recovery.inRecovery && c.recovery.transmit(c)) {
    persistCheck(c);
    return;
  }
  let idleChecked = false;
  for (;;) {
    if (c.scoreboard !== undefined && seqLt(c.sndNxt, c.sndMax)) skipSacked(c);
    const nxt = c.sndNxt;
    const avail = seqDiff(c.dataEnd(), nxt);
    const finPending = c.finQueued && avail >= 0;
    if (avail <= 0 && !finPending) break;
    const isNew = !seqLt(nxt, c.sndMax);
    if (isNew && !idleChecked) {
      idleChecked = true;
      // RFC 5681 4.1: restart from the initial window after an idle period longer than the RTO.
      const now = c.ctx.clock.now();
      if (c.sndMax === c.sndUna && c.lastDataSent >= 0 && now - c.lastDataSent > c.rtt.rto) {
        c.cc.onIdleRestart?.(now, c.rtt.rto);
      }
    }
    // The peer's window covers all outstanding sequence space; cwnd only what is in the
    // network: after a go-back, octets the receiver SACKed are not (RFC 6675 pipe, Linux
    // packets_in_flight).
    const outstanding = seqDiff(nxt, c.sndUna);
    const sacked = c.scoreboard !== undefined && c.scoreboard.sackedBytes > 0 ? sackedBelow(c, nxt) : 0;
    const usable = Math.min(c.sndWnd - outstanding, c.cc.cwnd + c.recovery.extraWindow(c) - (outstanding - sacked));
    const room = maxPayload(c);
    let len = Math.max(0, Math.min(avail, room, usable));
    if (!isNew) len = Math.min(len, sackedLimit(c, nxt));
    // TSO: a full-sized segment of new data may grow into a super-segment.
    let gso = 0;
    if (isNew && len === room) {
      const big = tsoLength(c, room, avail, usable);
      if (big > room) {
        len = big;
        gso = room;
      }
    }
    if (len === 0) {
      // A bare FIN needs one octet of window.
      if (!finPending || avail > 0 || usable < 1) break;
      sendSegment(c, nxt, 0, true);
      continue;
    }
    if (isNew && len < room) {
      // Nagle with Minshall's modification (RFC 9293 A.3, Linux tcp_minshall_check): hold a
      // short segment only while an earlier short segment is unacknowledged.
      const nagleOk = c.opts.noDelay || c.finQueued || !seqGt(c.sndSml, c.sndUna);
      if (!nagleOk) break;
      // Send a short segment only if it carries all queued data or at least half the largest window seen.
      if (len < avail && len < c.maxSndWnd >>> 1) break;
    }
    const fin = finPending && len === avail && usable > len;
    if (!isNew) c.ctx.counters.TCPSlowStartRetrans++;
    sendSegment(c, nxt, len, fin, gso);
    // The last segment was short (alone, or the tail of a super-segment): Nagle remembers it.
    if (len % room !== 0) c.sndSml = seqAdd(nxt, len);
  }
  persistCheck(c);
}

/**
 * How many octets of new data one TSO super-segment starting at SND.NXT carries (0: no
 * TSO). Bounded like Linux tcp_tso_segs/tcp_mss_split_point: by the send window and cwnd
 * (`usable`), the queued data (`avail`) and the largest datagram the device segments
 * (65535 minus the IPv4 and TCP headers); a whole number of `room`-octet segments, plus
 * the short tail only when it ends the queued data and Nagle would send it on its own
 * (RFC 9293 A.3 with Minshall's modification, as in output()).
 */
function tsoLength(c: Connection, room: number, avail: number, usable: number): number {
  const o = c.ctx.ip.offloads;
  if (o === undefined || !o.csum || o.tsoMaxSize === 0) return 0;
  // Headers each segment repeats: IPv4 + TCP with the options a full segment carries
  // (mssClamp is payload + options of a full-sized segment, `room` its payload).
  const maxData = o.tsoMaxSize - IP_HEADER_LEN - TCP_HEADER_LEN - (c.mssClamp - room);
  const limit = Math.min(avail, usable, maxData);
  if (limit <= room) return 0;
  const full = limit - (limit % room);
  if (limit === avail && full < avail && (c.opts.noDelay || c.finQueued || !seqGt(c.sndSml, c.sndUna))) return avail;
  return full;
}

/** Nothing in flight but something waits for the window: start the persist timer (RFC 9293 3.8.6.1, MUST-36). */
export function persistCheck(c: Connection): void {
  if (c.rtxMode !== 'none' || seqGt(c.sndMax, c.sndUna)) return;
  const avail = seqDiff(c.dataEnd(), c.sndNxt);
  if (avail > 0 || (c.finQueued && avail >= 0)) armPersist(c);
}

/** After a go-back (RTO), skip what the receiver already SACKed (RFC 6675 5.1 / Linux). */
function skipSacked(c: Connection): void {
  const sb = c.scoreboard!;
  if (sb.sackedBytes === 0) return;
  for (const b of sb.blocks()) {
    if (seqLe(b.start, c.sndNxt) && seqLt(c.sndNxt, b.end)) {
      c.sndNxt = seqLt(b.end, c.sndMax) ? b.end : c.sndMax;
    }
  }
}

/** SACKed octets between SND.UNA and `nxt`. */
function sackedBelow(c: Connection, nxt: Seq): number {
  let n = 0;
  for (const b of c.scoreboard!.blocks()) {
    if (!seqLt(b.start, nxt)) break;
    n += seqDiff(seqLt(b.end, nxt) ? b.end : nxt, b.start);
  }
  return n;
}

/** Octets from `nxt` up to the next SACKed block (so a re-sent segment stops there). */
function sackedLimit(c: Connection, nxt: Seq): number {
  const sb = c.scoreboard;
  if (sb === undefined || sb.sackedBytes === 0) return Infinity;
  for (const b of sb.blocks()) if (seqGt(b.start, nxt)) return seqDiff(b.start, nxt);
  return Infinity;
}

// ---------------------------------------------------------------- control segments

/** <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, now (a pure ACK). */
export function sendAckNow(c: Connection): void {
  if (c.state === 'CLOSED' || c.state === 'SYN-SENT' || c.state === 'LISTEN') return;
  if (c.state === 'SYN-RECEIVED') {
    sendSyn(c);
    return;
  }
  // RFC 9293's SND.NXT is our SND.MAX: after a go-back (RTO) SND.NXT is below what the peer
  // has seen, and an ACK carrying it would fail the peer's sequence check (BSD uses snd_max).
  emit(c, c.sndMax, ACK, 0, false);
}

/** The SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED): <SEQ=ISS><CTL=SYN> / <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. */
export function sendSyn(c: Connection, isRtx = false): ErrnoName | undefined {
  const flags = c.state === 'SYN-SENT' ? SYN : SYN | ACK;
  const err = emit(c, c.iss, flags, 0, isRtx);
  if (isRtx) c.totalRetransmits++;
  if (c.rtxMode !== 'rtx') armRtx(c);
  return err;
}

/** An active reset: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (Linux tcp_send_active_reset). */
export function sendRst(c: Connection): void {
  if (c.state === 'SYN-SENT' || c.state === 'CLOSED') return;
  emit(c, c.sndMax, RST | ACK, 0, false);
}

/** Zero-window or keepalive probe: <SEQ=SND.UNA-1 or SND.NXT-1><ACK=RCV.NXT><CTL=ACK>, no data (Linux tcp_xmit_probe_skb). */
export function sendProbe(c: Connection, sq: Seq): void {
  emit(c, sq, ACK, 0, false);
}

/**
 * A segment not tied to a connection: RSTs for CLOSED ports and SYN-ACKs carrying SYN
 * cookies. Built in ip.scratch like any other.
 */
export function emitStateless(
  ctx: TcpContext,
  localAddr: number,
  remoteAddr: number,
  localPort: number,
  remotePort: number,
  sq: number,
  ack: number,
  flags: number,
  window: number,
  opts?: OptionsOut,
): void {
  const b = ctx.ip.scratch;
  const hl = TCP_HEADER_LEN + (opts ? writeOptions(b, TCP_HEADER_LEN, opts) : 0);
  writeHeaderRaw(b, localPort, remotePort, sq >>> 0, ack >>> 0, flags, window, hl);
  setChecksum(b, hl, localAddr, remoteAddr);
  ctx.ip.send(remoteAddr, IPPROTO_TCP, hl, DF);
  ctx.counters.OutSegs++;
  if (flags & RST) ctx.counters.OutRsts++;
}
