/**
 * A listening socket (RFC 9293 3.10.7.2 LISTEN) with Linux's two queues:
 *   - the SYN queue: half-open children in SYN-RECEIVED, at most `backlog`; when it is full,
 *     SYN cookies (RFC 4987 3.6) answer instead (if enabled), or the SYN is dropped;
 *   - the accept queue: established children waiting for accept(); when it holds more than
 *     `backlog`, new SYNs and completing ACKs are dropped (ListenOverflows) and the client
 *     retransmits, as Linux does with tcp_abort_on_overflow = 0.
 */
import { seq } from '../core/seq.js';
import type { Connection, ConnectionInit, ChildOwner } from './connection.js';
import type { TcpConnection, TcpListener, TcpListenerHandler, TcpOptions } from './api.js';
import type { TcpContext } from './context.js';
import { TcpFlag, type Segment } from './header.js';
import { openFromCookie, openPassive } from './handshake.js';
import { chooseWscale, emitStateless } from './output.js';
import type { SynCookies } from './syncookie.js';
import type { Seq } from '../core/seq.js';

const { SYN, ACK, RST, FIN } = TcpFlag;
/** Linux TCP_SYNCOOKIE_VALID: cookie ACKs are checked for 2 minutes after the last cookie was sent. */
const COOKIE_WINDOW_MS = 120_000;

/** What a listener needs from its TcpLayer beyond the common context. */
export interface ListenerHost extends TcpContext {
  readonly cookies: SynCookies;
  /** Create a connection and enter it in the connection and port tables. */
  createConnection(init: ConnectionInit): Connection;
  listenerClosed(l: Listener): void;
}

const NOOP: TcpListenerHandler = { acceptable() {} };

export class Listener implements TcpListener, ChildOwner {
  readonly host: ListenerHost;
  readonly localAddr: number;
  readonly localPort: number;
  readonly backlog: number;
  readonly opts: TcpOptions;
  private handler: TcpListenerHandler = NOOP;
  readonly synQueue = new Set<Connection>();
  readonly acceptQueue: Connection[] = [];
  private lastCookieSent = -Infinity;
  private pendingAcceptable = false;
  closed = false;

  constructor(host: ListenerHost, localAddr: number, localPort: number, backlog: number, opts: TcpOptions) {
    this.host = host;
    this.localAddr = localAddr >>> 0;
    this.localPort = localPort;
    // Linux clamps the backlog to net.core.somaxconn: the SYN and accept queues stay bounded.
    this.backlog = Math.min(Math.max(0, backlog | 0), host.config.maxBacklog);
    this.opts = { ...opts };
  }

  setHandler(handler: TcpListenerHandler): void {
    this.handler = handler;
  }

  accept(): TcpConnection | undefined {
    const c = this.acceptQueue.shift();
    if (c !== undefined) c.owner = undefined;
    return c;
  }

  get pendingCount(): number {
    return this.acceptQueue.length;
  }

  /** Stop listening: children not yet accepted are reset. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const children = [...this.synQueue, ...this.acceptQueue];
    this.synQueue.clear();
    this.acceptQueue.length = 0;
    for (const c of children) {
      c.owner = undefined;
      c.orphan = true;
      c.resetAndClose();
      c.flushEvents();
    }
    this.host.listenerClosed(this);
  }

  flushEvents(): void {
    if (!this.pendingAcceptable) return;
    this.pendingAcceptable = false;
    if (this.acceptQueue.length > 0) this.handler.acceptable();
  }

  /** Linux sk_acceptq_is_full(): more than `backlog` waiting. */
  private acceptQueueFull(): boolean {
    return this.acceptQueue.length > this.backlog;
  }

  // ---------------------------------------------------------------- ChildOwner

  childEstablished(c: Connection): boolean {
    if (this.closed) return false;
    if (this.acceptQueueFull()) {
      // Linux (tcp_abort_on_overflow = 0): drop the ACK, keep the half-open child; its
      // SYN-ACK retransmission gives the client another chance.
      this.host.counters.ListenOverflows++;
      this.host.counters.ListenDrops++;
      return false;
    }
    this.synQueue.delete(c);
    this.acceptQueue.push(c);
    this.pendingAcceptable = true;
    return true;
  }

  childClosed(c: Connection): void {
    this.synQueue.delete(c);
    const i = this.acceptQueue.indexOf(c);
    if (i >= 0) this.acceptQueue.splice(i, 1);
  }

  // ---------------------------------------------------------------- LISTEN state

  /** RFC 9293 3.10.7.2: a segment for this listener that matched no connection. */
  input(seg: Segment, src: number, dst: number, isnHint: Seq | undefined): void {
    const k = this.host.counters;
    // "First, check for a RST ... An incoming RST should be ignored."
    if (seg.flags & RST) {
      k.DropRstIgnored++;
      return;
    }
    // "Second, check for an ACK ... <SEQ=SEG.ACK><CTL=RST>" — unless it is a SYN cookie's ACK.
    if (seg.flags & ACK) {
      if (!(seg.flags & SYN) && this.cookiesActive()) {
        this.cookieAck(seg, src, dst);
        return;
      }
      k.DropListen++;
      emitStateless(this.host, dst, src, seg.dstPort, seg.srcPort, seg.ack, 0, RST, 0);
      return;
    }
    // "Fourth, other data or control ... Drop the segment and return." Linux also drops SYN+FIN.
    if (!(seg.flags & SYN) || seg.flags & FIN) {
      k.DropListen++;
      return;
    }
    this.syn(seg, src, dst, isnHint);
  }

  /**
   * Is `seg` the ACK of a SYN cookie we sent? Asked by the layer for an ACK that a half-open
   * connection of the same 4-tuple cannot take (it does not acknowledge that connection's
   * SYN-ACK): the peer's SYN was answered twice, with a cookie while the SYN queue was full
   * and with state when its retransmission came, and the peer took the cookie SYN-ACK. Linux
   * gives such an ACK to the listener (tcp_check_req returns it; tcp_v4_cookie_check).
   */
  isCookieAck(seg: Segment, src: number, dst: number): boolean {
    if ((seg.flags & (SYN | RST | ACK)) !== ACK || !this.cookiesActive()) return false;
    const t = { localAddr: dst, localPort: this.localPort, remoteAddr: src, remotePort: seg.srcPort };
    return this.host.cookies.decode(t, seq(seg.seq - 1), seq(seg.ack - 1)) !== undefined;
  }

  private cookiesActive(): boolean {
    const mode = this.host.config.syncookies;
    if (mode === 'always') return true;
    return mode === 'on-overflow' && this.host.clock.now() - this.lastCookieSent < COOKIE_WINDOW_MS;
  }

  /** "Third, check for a SYN". */
  private syn(seg: Segment, src: number, dst: number, isnHint: Seq | undefined): void {
    const host = this.host;
    const k = host.counters;
    const mode = host.config.syncookies;
    // Linux tcp_conn_request: SYN queue full (or syncookies = 2) -> cookie, or drop without
    // cookies — except for a SYN that reopened a TIME-WAIT connection (isnHint; Linux "&& !isn"):
    // it gets state whatever the queue (bounded anyway: each TIME-WAIT reopens once).
    const synFull = this.synQueue.size >= this.backlog && isnHint === undefined;
    const wantCookie = isnHint === undefined && (mode === 'always' || (synFull && mode === 'on-overflow'));
    if (synFull && !wantCookie) {
      k.ListenDrops++;
      host.debug(() => `listener :${this.localPort} SYN queue full (${this.synQueue.size}), SYN dropped`);
      return;
    }
    if (this.acceptQueueFull()) {
      k.ListenOverflows++;
      k.ListenDrops++;
      return;
    }
    if (wantCookie) {
      this.sendCookieSynAck(seg, src, dst);
      return;
    }
    const c = host.createConnection({
      localAddr: dst,
      localPort: this.localPort,
      remoteAddr: src,
      remotePort: seg.srcPort,
      opts: this.opts,
      owner: this,
    });
    this.synQueue.add(c);
    k.PassiveOpens++;
    openPassive(c, seg, isnHint ?? host.isn.next(c));
  }

  /** RFC 4987 3.6: a SYN-ACK whose ISN encodes the connection; no state is kept. */
  private sendCookieSynAck(seg: Segment, src: number, dst: number): void {
    const host = this.host;
    const cfg = host.config;
    const t = { localAddr: dst, localPort: this.localPort, remoteAddr: src, remotePort: seg.srcPort };
    const { isn } = host.cookies.encode(t, seg.seq, seg.mss >= 0 ? seg.mss : 536);
    const rcvBuf = this.opts.recvBufferSize ?? cfg.defaultRecvBuffer;
    const o = host.optionsOut.clear();
    let m = host.ip.pathMtu(src) - 40;
    if (this.opts.maxSegment !== undefined && this.opts.maxSegment > 0) m = Math.min(m, this.opts.maxSegment);
    o.mss = Math.max(m, cfg.minMss);
    // Linux: window scale and SACK survive a cookie only inside the timestamp; without
    // timestamps the SYN-ACK offers neither (tcp_clear_options).
    if (cfg.timestamps && seg.hasTimestamp) {
      const wsOk = cfg.windowScaling && seg.wscale >= 0;
      const sackOk = cfg.sack && seg.sackPermitted;
      if (wsOk) o.wscale = chooseWscale(rcvBuf);
      o.sackPermitted = sackOk;
      o.timestamp = true;
      const ts = (Math.floor(host.clock.now()) + host.tsOffset(dst, src, this.localPort, seg.srcPort)) >>> 0;
      o.tsVal = host.cookies.encodeTimestamp(ts, { wscale: wsOk ? seg.wscale : undefined, sackOk });
      o.tsEcr = seg.tsVal;
    }
    emitStateless(host, dst, src, this.localPort, seg.srcPort, isn, seg.seq + 1, SYN | ACK, Math.min(rcvBuf, 0xffff), o);
    host.counters.SyncookiesSent++;
    this.lastCookieSent = host.clock.now();
  }

  /** The ACK of a cookie SYN-ACK: check it and create the connection in ESTABLISHED. */
  private cookieAck(seg: Segment, src: number, dst: number): void {
    const host = this.host;
    const k = host.counters;
    const t = { localAddr: dst, localPort: this.localPort, remoteAddr: src, remotePort: seg.srcPort };
    const mss = host.cookies.decode(t, seq(seg.seq - 1), seq(seg.ack - 1));
    if (mss === undefined) {
      // Linux answers an ACK that is no valid cookie with a RST (tcp_v4_send_reset), counting SyncookiesFailed.
      k.SyncookiesFailed++;
      emitStateless(host, dst, src, this.localPort, seg.srcPort, seg.ack, 0, RST, 0);
      return;
    }
    if (this.acceptQueueFull()) {
      k.ListenOverflows++;
      k.ListenDrops++;
      return;
    }
    const opts = seg.hasTimestamp ? host.cookies.decodeTimestamp(seg.tsEcr) : undefined;
    const c = host.createConnection({
      localAddr: dst,
      localPort: this.localPort,
      remoteAddr: src,
      remotePort: seg.srcPort,
      opts: this.opts,
      owner: this,
    });
    k.SyncookiesRecv++;
    k.PassiveOpens++;
    openFromCookie(c, seg, mss, opts);
    this.childEstablished(c);
    // The ACK may carry data: process it as an ESTABLISHED segment.
    c.segmentArrives(seg);
  }
}
