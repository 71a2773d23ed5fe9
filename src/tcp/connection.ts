/**
 * One TCP connection (a TCB, RFC 9293 3.3.1): its state, the send and receive sequence
 * variables, negotiated options, timers, and the TcpConnection API the socket layer uses.
 *
 * The protocol logic lives beside it, split like gVisor's snd.go / rcv.go:
 *   input.ts    SEGMENT ARRIVES (RFC 9293 3.10.7.3 / 3.10.7.4) and the receive half
 *   ack.ts      the ACK field: SND.UNA, RTT samples, send window, duplicate ACKs
 *   output.ts   what to send now (windows, Nagle, SWS), segment building, RST/ACK
 *   recovery/   fast retransmit + recovery: RFC 6675 (SACK) with RFC 8985 RACK-TLP, and
 *               RFC 6582 (NewReno)
 *   timers.ts   retransmission / persist, RACK reordering and TLP, delayed ACK, keepalive,
 *               FIN-WAIT-2, TIME-WAIT
 * The fields below are the TCB; those modules read and write them directly.
 *
 * Callbacks to the socket layer are raised as event bits and delivered by flushEvents()
 * once the stack is in a consistent state (after a segment, a timer, or an API call), so a
 * handler may call back into the connection freely.
 */
import type { ErrnoName } from '../core/errno.js';
import { ipToString } from '../ip/types.js';
import type { Timer } from '../core/clock.js';
import { seq, seqAdd, seqDiff, seqGt, type Seq } from '../core/seq.js';
import type {
  CongestionName,
  TcpConnection,
  TcpConnectionHandler,
  TcpInfo,
  TcpOptions,
  TcpStateName,
} from './api.js';
import { createCongestionControl, type CongestionControl } from './congestion/index.js';
import type { TcpContext } from './context.js';
import { TS_OPTION_SPACE, type Segment } from './header.js';
import { segmentArrives } from './input.js';
import { ReceiveBuffer } from './recv-buffer.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './scoreboard.js';
import { SendBuffer, type BufferPool } from './send-buffer.js';
import type { ConnEntry, PortUser, TimeWait, TimeWaitSink } from './tables.js';
import type { LossRecovery } from './recovery/types.js';
import { NewRenoRecovery } from './recovery/newreno.js';
import { SackRecovery } from './recovery/sack.js';
import { RackRecovery } from './recovery/rack-recovery.js';
import { RackTlp } from './recovery/rack.js';
import { chooseWscale, output, sendRst, sendAckNow, maybeWindowUpdate, sendSyn } from './output.js';
import { advertisedMss } from './handshake.js';
import { armKeepalive, cancelAllTimers, armFinWait2, SubTimer } from './timers.js';
import { OptionSets, type OptionSet } from './option-sets.js';

/** Event bits for flushEvents(), delivered in this order. */
export const Ev = { CONNECTED: 1, READABLE: 2, WRITABLE: 4, ERROR: 8, CLOSED: 16 } as const;

/** Where a passively opened connection reports (its Listener), until accept(). */
export interface ChildOwner {
  /** The handshake completed; false when the accept queue is full (drop the ACK, RFC-wise "not yet"). */
  childEstablished(c: Connection): boolean;
  /** The child reached CLOSED (reset, timeout) before it was accepted. */
  childClosed(c: Connection): void;
}

const NOOP_HANDLER: TcpConnectionHandler = {
  connected() {},
  readable() {},
  writable() {},
  error() {},
  closed() {},
};

export type RtxMode = 'none' | 'rtx' | 'persist';

/** A TCP RFC 793 "synchronized" state where data may be sent (SYN exchanged, FIN not yet sent or still owed). */
export function canSendData(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
}

/** What every connection of a layer shares: one object per layer, one field per connection. */
export interface ConnectionShared {
  /** Where the send and receive buffers take their storage from (undefined: they allocate their own). */
  readonly pool: BufferPool | undefined;
  /** Told when a connection sits in TIME-WAIT, closed by its application (the layer compacts it). */
  readonly timeWaits: TimeWaitSink | undefined;
  /** The interned option sets of the layer. */
  readonly optionSets: OptionSets;
}

export interface ConnectionInit {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
  opts?: TcpOptions;
  owner?: ChildOwner;
  /** The layer's shared parts (default: no pool, no TIME-WAIT compaction, private option sets). */
  shared?: ConnectionShared;
  /** Passive open, when there is no owner to tell (a connection rebuilt from a TimeWait record). */
  passive?: boolean;
}

export class Connection implements TcpConnection {
  readonly ctx: TcpContext;
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  state: TcpStateName = 'CLOSED';
  /** The listener of a passive open, until accepted (or the handshake failed). */
  owner: ChildOwner | undefined;
  readonly passive: boolean;
  readonly shared: ConnectionShared;
  /** The TIME-WAIT record standing in for this connection in the layer's tables (compacted). */
  detached: TimeWait | undefined = undefined;
  handler: TcpConnectionHandler = NOOP_HANDLER;
  /** Shared, frozen option set (see optionSet()); setOptions() swaps it for another. */
  opts: OptionSet;
  /** Connection table chaining (ConnTable). */
  nextInBucket: ConnEntry | undefined = undefined;
  /** This connection's local port reservation (TcpLayer's port table). */
  portUser: PortUser | undefined = undefined;

  // --- Send sequence space (RFC 9293 3.3.1) ---
  iss: Seq = seq(0);
  sndUna: Seq = seq(0);
  /** Next sequence number to send; goes back to SND.UNA after an RTO (go-back-N). */
  sndNxt: Seq = seq(0);
  /** Highest sequence number sent + 1 (BSD snd_max; RFC 6675 HighData + 1). */
  sndMax: Seq = seq(0);
  /** End of the last short (< SMSS) segment sent (Linux snd_sml, for Minshall's Nagle). */
  sndSml: Seq = seq(0);
  /** SND.WND in bytes (already scaled). */
  sndWnd = 0;
  sndWl1: Seq = seq(0);
  sndWl2: Seq = seq(0);
  /** MAX.SND.WND (RFC 5961 5.2): the largest window the peer ever offered. */
  maxSndWnd = 0;
  /** Shift applied to the peer's window field (its window scale). */
  sndWscale = 0;
  sendBuf: SendBuffer | undefined = undefined;
  /** Sequence number of the first octet in sendBuf. */
  bufSeq: Seq = seq(0);
  /** No more writes: shutdown('wr') or close(). The FIN follows the queued data. */
  writeShut = false;
  /** The FIN has been queued (we are past ESTABLISHED/CLOSE-WAIT or will be on establishment). */
  finQueued = false;
  finSent = false;
  finAcked = false;
  /** A write() came up short: signal writable() when space frees. */
  wantWritable = false;

  // --- Receive sequence space ---
  irs: Seq = seq(0);
  /** RCV.NXT including the FIN once received. */
  rcvNxt: Seq = seq(0);
  /** Right edge of the window we last advertised (RCV.NXT + RCV.WND at that time). */
  rcvAdv: Seq = seq(0);
  /** Our window scale shift (applied to the window fields we send). */
  rcvWscale = 0;
  rcvBuf: ReceiveBuffer | undefined = undefined;
  finReceived = false;
  /** Sequence number of a FIN that arrived ahead of missing data. */
  pendingFin: Seq | undefined = undefined;
  readShut = false;
  /** ACK field of the last segment we sent (RFC 7323 Last.ACK.sent). */
  lastAckSent: Seq = seq(0);
  /** An ACK is owed now (sent at the end of the receive batch). */
  ackNow = false;
  /** In the layer's end-of-batch list. */
  ackQueued = false;
  /** Estimate of the peer's segment size (Linux rcv_mss), for delayed ACKs and SWS. */
  rcvMssEst = 536;
  /** D-SACK block to report in the next ACK (RFC 2883), as [start, end) or start === end when none. */
  dsackStart: Seq = seq(0);
  dsackEnd: Seq = seq(0);

  // --- Options ---
  /** MSS we announced (payload octets, no options). */
  advMss = 536;
  /** Peer's MSS option (536 when absent, MUST-15). */
  peerMss = 536;
  /** Largest payload+options per segment: min(peer MSS, path MTU - 40, TCP_MAXSEG). */
  mssClamp = 536;
  /** SMSS: payload of a full-sized segment (mssClamp minus the timestamp option). */
  mss = 536;
  wsOk = false;
  sackOk = false;
  tsOk = false;
  tsRecent = 0;
  tsRecentAge = 0;
  tsOffset = 0;

  // --- Retransmission, congestion control, loss recovery ---
  rtt: RttEstimator;
  cc: CongestionControl;
  scoreboard: SackScoreboard | undefined = undefined;
  /** RACK-TLP state (RFC 8985) with SACK and config.rackTlp, created with the scoreboard. */
  rack: RackTlp | undefined = undefined;
  recovery: LossRecovery;
  /** Karn/RFC 6298 timing without timestamps: the segment end being timed and when it was sent. */
  rttSeq: Seq | undefined = undefined;
  rttTime = 0;
  dupAcks = 0;
  /** RFC 6582 "recover" / RFC 6675 RecoveryPoint (exclusive end: SND.MAX at entry). */
  recoveryPoint: Seq = seq(0);
  /** Consecutive retransmission timeouts of the same data (reset by an ACK of new data). */
  retransmits = 0;
  totalRetransmits = 0;
  /** Unanswered zero-window probes (reset by any acceptable ACK). */
  probesOut = 0;
  persistBackoff = 0;
  /** The SYN timed out at least once (RFC 6298 5.7). */
  synTimedOut = false;
  /** Time of the last data segment sent (-1: none yet), for the RFC 5681 4.1 idle restart. */
  lastDataSent = -1;
  lastRecvTime = 0;
  keepProbes = 0;

  // --- Timers (created once, re-armed; four SubTimers on one clock Timer, see timers.ts) ---
  readonly rtxTimer: SubTimer;
  rtxMode: RtxMode = 'none';
  /** When the retransmission/persist timer is really due (the Timer may be armed earlier). */
  rtxDeadline = 0;
  readonly delackTimer: SubTimer;
  /** RACK's reordering timer and TLP's probe timeout (RFC 8985 6.2 step 6, 7.2). */
  readonly lossTimer: SubTimer;
  /** Keepalive, FIN-WAIT-2 timeout and TIME-WAIT share this timer (Linux's sk_timer). */
  readonly keepTimer: SubTimer;
  /**
   * The one clock Timer, armed for the earliest sub-timer: created when one is armed, dropped
   * when none is (syncClockTimer), so an idle connection holds no Timer and no closure.
   */
  clockTimer: Timer | undefined = undefined;
  /** True while onClockTimer() runs the due sub-timers (it re-arms once at the end). */
  timersFiring = false;

  // --- Errors and events ---
  softError: ErrnoName | undefined = undefined;
  pendingError: ErrnoName | undefined = undefined;
  errorCode: ErrnoName | undefined = undefined;
  /** The application called close(): no more reads; the connection finishes on its own. */
  orphan = false;
  events = 0;
  private flushing = false;
  /** write() from inside a handler queued data: output() once the handlers return (flushEvents). */
  private outputDeferred = false;
  private closedRaised = false;

  bytesSent = 0;
  bytesReceived = 0;
  bytesAcked = 0;

  constructor(ctx: TcpContext, init: ConnectionInit) {
    this.ctx = ctx;
    this.localAddr = init.localAddr >>> 0;
    this.localPort = init.localPort;
    this.remoteAddr = init.remoteAddr >>> 0;
    this.remotePort = init.remotePort;
    this.owner = init.owner;
    this.passive = init.passive ?? init.owner !== undefined;
    const cfg = ctx.config;
    this.shared = init.shared ?? { pool: undefined, timeWaits: undefined, optionSets: new OptionSets(cfg) };
    const sets = this.shared.optionSets;
    this.opts = init.opts !== undefined ? sets.withAll(sets.defaults, init.opts) : sets.defaults;
    this.rtt = new RttEstimator({ initialRto: cfg.initialRto, minRto: cfg.minRto, maxRto: cfg.maxRto });
    this.cc = createCongestionControl(this.opts.congestion, this.mss, ctx.clock.now());
    this.recovery = new NewRenoRecovery();
    this.rtxTimer = new SubTimer(this);
    this.delackTimer = new SubTimer(this);
    this.lossTimer = new SubTimer(this);
    this.keepTimer = new SubTimer(this);
    this.lastRecvTime = ctx.clock.now();
  }

  // ------------------------------------------------------------------ TcpConnection API

  setHandler(handler: TcpConnectionHandler): void {
    this.handler = handler;
  }

  get readableLength(): number {
    return this.rcvBuf?.readable ?? 0;
  }

  get eof(): boolean {
    return this.readableLength === 0 && (this.finReceived || this.readShut);
  }

  /** RFC 9293 3.10.3 RECEIVE: copy in-order data out; a read that opens the window may send an update. */
  read(dst: Uint8Array): number {
    const rb = this.rcvBuf;
    if (rb === undefined || rb.readable === 0) return 0;
    // Before the read: could we already offer twice the window the peer has (at least an MSS)?
    // Then this read is not what holds the peer back (typically the SYN's unscaled 64 KiB
    // window right after the handshake): the next ACK carries the wider window, and a pure
    // window update per request would cost a segment per connection. Linux does not send one
    // either (tcp_cleanup_rbuf: its window grows gradually through rcv_ssthresh).
    const adv = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
    const alreadyOpen = adv >= this.mss && rb.window >= 2 * adv;
    const n = rb.read(dst);
    if (n > 0 && !alreadyOpen && !this.finReceived && (this.state === 'ESTABLISHED' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2')) {
      maybeWindowUpdate(this);
    }
    this.flushEvents();
    return n;
  }

  get writableLength(): number {
    if (this.writeShut || this.state === 'CLOSED') return 0;
    return this.sendBuf ? this.sendBuf.free : this.opts.sendBufferSize;
  }

  /** RFC 9293 3.10.2 SEND: queue data (also before ESTABLISHED); -1 once writing was shut down or the connection is gone. */
  write(src: Uint8Array): number {
    if (this.writeShut || this.state === 'CLOSED' || this.state === 'LISTEN') return -1;
    const sb = this.ensureSendBuf();
    const n = sb.write(src);
    if (n < src.length) this.wantWritable = true;
    if (n > 0) {
      this.sackScoreboard();
      // From inside a callback of this connection (a reply written while handling readable()),
      // the segment waits until the callback returns, still in the same synchronous turn: a
      // close() or more writes in the same callback then share it (the FIN piggybacks on the
      // reply, like Linux sending FIN with data still queued; a cork for one callback).
      if (this.flushing) this.outputDeferred = true;
      else if (canSendData(this.state)) output(this);
    }
    this.flushEvents();
    return n;
  }

  shutdown(how: 'rd' | 'wr' | 'rdwr'): void {
    if (how !== 'wr') this.shutRead();
    if (how !== 'rd') this.shutWrite();
    this.flushEvents();
  }

  /**
   * RFC 9293 3.10.4 CLOSE. Unread received data turns it into a reset (RFC 1122 4.2.2.13
   * SHLD-3 / Linux TCPAbortOnClose); otherwise queued data then FIN, and the connection
   * lives on as an orphan until FIN-WAIT-2 / TIME-WAIT end.
   */
  close(): void {
    if (this.orphan) return;
    this.orphan = true;
    this.readShut = true;
    switch (this.state) {
      case 'CLOSED':
        break;
      case 'SYN-SENT':
        // "Delete the TCB and return 'error: closing' responses to any queued SENDs".
        this.destroy();
        break;
      default:
        if (this.readableLength > 0) {
          this.ctx.counters.TCPAbortOnClose++;
          this.resetAndClose();
          break;
        }
        this.shutWrite();
        if (this.state === 'FIN-WAIT-2') armFinWait2(this);
        if (this.state === 'TIME-WAIT') {
          this.freeBuffers();
          if (this.owner === undefined) this.shared.timeWaits?.orphanedTimeWait(this);
        }
        break;
    }
    this.flushEvents();
  }

  /** RFC 9293 3.10.5 ABORT: RST in the synchronized states, then CLOSED; no error callback (the user asked). */
  abort(): void {
    this.orphan = true;
    if (this.state !== 'CLOSED') {
      if (this.state !== 'SYN-SENT' && this.state !== 'CLOSING' && this.state !== 'LAST-ACK' && this.state !== 'TIME-WAIT') {
        // Linux counts SO_LINGER{1,0} aborts as TCPAbortOnData (tcp_close).
        this.ctx.counters.TCPAbortOnData++;
        this.resetAndClose();
      } else {
        this.destroy();
      }
    }
    this.flushEvents();
  }

  setOptions(o: TcpOptions): void {
    const sets = this.shared.optionSets;
    const prev = this.opts;
    this.opts = sets.withAll(prev, o);
    // Refused as SendBuffer.resize() refuses it, also before the buffer exists (ensureSendBuf).
    const sb = this.sendBuf;
    if (o.sendBufferSize !== undefined && (sb ? !sb.resize(Math.max(o.sendBufferSize, sb.length)) : !(o.sendBufferSize > 0))) {
      this.opts = sets.with(this.opts, 'sendBufferSize', prev.sendBufferSize);
    }
    if (o.recvBufferSize !== undefined && this.rcvBuf && o.recvBufferSize > this.rcvBuf.capacity) {
      this.rcvBuf.setCapacity(o.recvBufferSize); // grow only: never shrink an advertised window
    }
    if (o.congestion !== undefined && o.congestion !== prev.congestion) this.switchCongestion(o.congestion);
    if (o.maxSegment !== undefined && o.maxSegment > 0 && this.state !== 'CLOSED' && this.state !== 'SYN-SENT') {
      this.setMssClamp(Math.min(this.mssClamp, o.maxSegment));
    }
    if (o.keepAlive !== undefined || o.keepIdle !== undefined) armKeepalive(this);
    if (o.noDelay === true && canSendData(this.state)) output(this);
    this.flushEvents();
  }

  get options(): Readonly<Required<TcpOptions>> {
    return this.opts;
  }

  info(): TcpInfo {
    return {
      state: this.state,
      cwnd: this.cc.cwnd,
      ssthresh: this.cc.ssthresh,
      srtt: this.rtt.srtt,
      rttvar: this.rtt.rttvar,
      rto: this.rtt.rto,
      mss: this.mss,
      bytesInFlight: Math.max(0, seqDiff(this.sndNxt, this.sndUna)),
      retransmits: this.retransmits,
      totalRetransmits: this.totalRetransmits,
      sndWnd: this.sndWnd,
      rcvWnd: Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt)),
      sndWscale: this.sndWscale,
      rcvWscale: this.rcvWscale,
      sackEnabled: this.sackOk,
      timestampsEnabled: this.tsOk,
      congestion: this.cc.name,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      bytesAcked: this.bytesAcked,
    };
  }

  takeError(): ErrnoName | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }

  // ------------------------------------------------------------------ engine helpers

  /** The send buffer (no storage until data is written: see SendBuffer). */
  ensureSendBuf(): SendBuffer {
    if (this.sendBuf === undefined) this.sendBuf = new SendBuffer(this.opts.sendBufferSize, this.shared.pool);
    return this.sendBuf;
  }

  /** The receive buffer (no storage until data arrives: see ReceiveBuffer). */
  ensureRcvBuf(): ReceiveBuffer {
    if (this.rcvBuf === undefined) this.rcvBuf = new ReceiveBuffer(this.opts.recvBufferSize, this.shared.pool);
    return this.rcvBuf;
  }

  /** Receive buffer size, also before the buffer exists (SYN window, window scale choice). */
  get rcvCapacity(): number {
    return this.rcvBuf?.capacity ?? this.opts.recvBufferSize;
  }

  /** Sequence number just past the queued data (where the FIN goes). */
  dataEnd(): Seq {
    return seqAdd(this.bufSeq, this.sendBuf?.length ?? 0);
  }

  /** Octets sent and not yet acknowledged (FlightSize, RFC 5681). */
  flightSize(): number {
    return Math.max(0, seqDiff(this.sndMax, this.sndUna));
  }

  /** Our timestamp clock: 1 ms ticks plus a per-connection offset (RFC 7323 5.4). */
  tsNow(): number {
    return (Math.floor(this.ctx.clock.now()) + this.tsOffset) >>> 0;
  }

  raise(ev: number): void {
    this.events |= ev;
  }

  /** Deliver pending events to the handler (connected, readable, writable, error, closed). */
  flushEvents(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        while (this.events !== 0) {
          const e = this.events;
          this.events = 0;
          const h = this.handler;
          if (e & Ev.CONNECTED) h.connected();
          if (e & Ev.READABLE) h.readable();
          if (e & Ev.WRITABLE) h.writable();
          if (e & Ev.ERROR && this.errorCode !== undefined) h.error(this.errorCode);
          if (e & Ev.CLOSED) h.closed();
        }
        if (!this.outputDeferred) break;
        // What the handlers wrote goes out now (output() may raise more events: loop).
        this.outputDeferred = false;
        if (canSendData(this.state)) output(this);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Change state, keeping CurrEstab (connections in ESTABLISHED or CLOSE-WAIT, RFC 1213) right. */
  setState(next: TcpStateName): void {
    const prev = this.state;
    if (prev === next) return;
    const c = this.ctx.counters;
    if (prev === 'ESTABLISHED' || prev === 'CLOSE-WAIT') c.CurrEstab--;
    if (next === 'ESTABLISHED' || next === 'CLOSE-WAIT') c.CurrEstab++;
    if (prev === 'TIME-WAIT') this.ctx.timeWaitCount--;
    if (next === 'TIME-WAIT') this.ctx.timeWaitCount++;
    this.state = next;
    // Several transitions per connection: test before building even the message closure.
    if (this.ctx.logger.enabled('tcp')) this.ctx.debug(() => `${this.name()} ${prev} -> ${next}`);
  }

  name(): string {
    return `${ipToString(this.localAddr)}:${this.localPort}<->${ipToString(this.remoteAddr)}:${this.remotePort}`;
  }

  /**
   * Options negotiated by the SYN exchange are in place: fix the MSS and choose the loss
   * recovery (with SACK: RFC 6675 with RACK-TLP, or with its DupThresh rule when rackTlp is
   * off; without SACK: RFC 6582). The SACK scoreboard and the RACK state follow once there
   * is something to send (sackScoreboard()).
   */
  negotiated(): void {
    this.setMssClamp(this.computeMssClamp());
    this.cc.init(this.mss, this.ctx.clock.now());
    this.scoreboard = undefined;
    this.rack = undefined;
    if (this.sackOk) {
      this.recovery = this.ctx.config.rackTlp ? new RackRecovery() : new SackRecovery();
      if ((this.sendBuf?.length ?? 0) > 0 || this.writeShut) this.sackScoreboard();
    } else {
      this.recovery = new NewRenoRecovery();
    }
    this.recoveryPoint = this.iss;
    this.sndSml = this.sndUna;
    // Linux's initial rcv_mss: min(advertised MSS, 536).
    this.rcvMssEst = Math.min(this.advMss - (this.tsOk ? TS_OPTION_SPACE : 0), 536);
  }

  /** RFC 9293 3.7.1 (MUST-16): Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize. */
  computeMssClamp(): number {
    const cfg = this.ctx.config;
    let m = Math.min(this.peerMss, this.ctx.ip.pathMtu(this.remoteAddr) - 40);
    if (this.opts.maxSegment > 0) m = Math.min(m, this.opts.maxSegment);
    return Math.max(m, cfg.minMss);
  }

  setMssClamp(m: number): void {
    this.mssClamp = Math.max(m, this.ctx.config.minMss);
    this.mss = this.mssClamp - (this.tsOk ? TS_OPTION_SPACE : 0);
  }

  /** Path MTU dropped (ICMP fragmentation needed, RFC 1191): smaller segments, resend what was lost. */
  lowerMtu(mtu: number): void {
    const clamp = Math.min(this.computeMssClamp(), mtu - 40);
    if (clamp >= this.mssClamp) return;
    this.setMssClamp(clamp);
    this.cc.setMss(this.mss);
    this.ctx.counters.TCPMTUPChanges++;
    if (canSendData(this.state) && seqGt(this.sndMax, this.sndUna)) {
      // Linux tcp_simple_retransmit: the segments in flight were too big and are gone;
      // resend from SND.UNA without treating it as congestion.
      this.sndNxt = this.sndUna;
      this.rttSeq = undefined;
      output(this);
    }
  }

  private switchCongestion(name: CongestionName): void {
    const old = this.cc;
    this.cc = createCongestionControl(name, this.mss, this.ctx.clock.now());
    if (this.state !== 'SYN-SENT' && this.state !== 'CLOSED') {
      this.cc.cwnd = old.cwnd;
      this.cc.ssthresh = old.ssthresh;
    }
  }

  /**
   * With SACK, the scoreboard exists once anything beyond the SYN may be in flight: data or
   * the FIN was queued. A connection that never sends holds none (memory per idle connection).
   */
  private sackScoreboard(): void {
    if (this.sackOk && this.scoreboard === undefined) {
      this.scoreboard = new SackScoreboard();
      if (this.recovery.kind === 'rack') this.rack = new RackTlp();
    }
  }

  private shutRead(): void {
    this.readShut = true;
  }

  /** Queue the FIN (RFC 9293 3.10.4): ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK; earlier states send it once established. */
  private shutWrite(): void {
    if (this.writeShut) return;
    this.writeShut = true;
    this.wantWritable = false;
    if (this.state === 'ESTABLISHED') {
      this.queueFin();
      this.setState('FIN-WAIT-1');
      output(this);
    } else if (this.state === 'CLOSE-WAIT') {
      this.queueFin();
      this.setState('LAST-ACK');
      output(this);
    }
    // SYN-SENT / SYN-RECEIVED: enterEstablished() sees writeShut and queues the FIN.
  }

  /**
   * The FIN goes after the queued data. output() sends (and the timers resend) from the send
   * buffer's bookkeeping, so it exists from here on even when nothing was ever written.
   */
  private queueFin(): void {
    this.finQueued = true;
    this.ensureSendBuf();
    this.sackScoreboard();
  }

  /**
   * Handshake complete (either side). The send buffer object comes with the first write()
   * or the FIN (ensureSendBuf): an idle connection holds none.
   */
  enterEstablished(): void {
    this.setState('ESTABLISHED');
    this.rtxMode = 'none';
    this.rtxTimer.cancel();
    this.retransmits = 0;
    if (this.synTimedOut && !this.rtt.hasSample) {
      // RFC 6298 5.7: the SYN timed out and no RTT was measured: RTO = 3 s once data flows.
      const cfg = this.ctx.config;
      this.rtt = new RttEstimator({ initialRto: Math.max(3000, cfg.initialRto), minRto: cfg.minRto, maxRto: cfg.maxRto });
    }
    this.rtt.resetBackoff();
    armKeepalive(this);
    if (!this.passive) this.raise(Ev.CONNECTED);
    if (this.writeShut) {
      this.queueFin();
      this.setState('FIN-WAIT-1');
    }
  }

  enterTimeWait(): void {
    if (this.ctx.timeWaitCount >= this.ctx.config.maxTimeWait) {
      // Linux tcp_time_wait without a bucket: "just CLOSE this socket up". The ACK of the
      // peer's FIN still goes out first (its retransmission would draw a RST otherwise).
      this.ctx.counters.TCPTimeWaitOverflow++;
      this.ctx.debug(() => `${this.name()} TIME-WAIT table full (${this.ctx.timeWaitCount}): CLOSED at once`);
      if (this.ackNow) sendAckNow(this);
      this.destroy();
      return;
    }
    this.setState('TIME-WAIT');
    this.rtxMode = 'none';
    this.rtxTimer.cancel();
    this.delackTimer.cancel();
    this.lossTimer.cancel();
    // RFC 9293 3.10.7.4: "start the time-wait timer, turn off the other timers" (2*MSL, MUST-13).
    this.keepTimer.arm(this.ctx.clock.now() + 2 * this.ctx.config.msl);
    this.sendBuf = undefined;
    // Nothing is in flight any more: the SACK scoreboard is not needed (memory per TIME-WAIT).
    this.scoreboard = undefined;
    this.rack = undefined;
    if (this.orphan) {
      this.freeBuffers();
      // Nobody uses it any more: the layer may keep a compact record instead (TimeWait).
      if (this.owner === undefined) this.shared.timeWaits?.orphanedTimeWait(this);
    }
  }

  freeBuffers(): void {
    this.sendBuf = undefined;
    if (this.orphan || this.readableLength === 0) this.rcvBuf = undefined;
  }

  /** Send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (Linux tcp_send_active_reset) and close. */
  resetAndClose(): void {
    if (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT') this.ctx.counters.EstabResets++;
    sendRst(this);
    this.destroy();
  }

  /**
   * The connection failed: report `code` once (error(), then closed()), delete the TCB.
   * `rst` sends a reset first (keepalive timeout, data after close) like Linux.
   */
  fail(code: ErrnoName, rst = false): void {
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') this.ctx.counters.AttemptFails++;
    else if (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT') this.ctx.counters.EstabResets++;
    if (rst) sendRst(this);
    this.errorCode = code;
    this.pendingError = code;
    this.raise(Ev.ERROR);
    this.destroy();
  }

  /** Enter CLOSED: stop the timers, drop the buffers, leave the tables, report closed(). */
  destroy(): void {
    if (this.state !== 'CLOSED') this.setState('CLOSED');
    cancelAllTimers(this);
    this.rtxMode = 'none';
    this.sendBuf = undefined;
    if (this.orphan || this.readableLength === 0) this.rcvBuf = undefined;
    const owner = this.owner;
    this.owner = undefined;
    if (owner) owner.childClosed(this);
    this.ctx.connectionClosed(this);
    if (!this.closedRaised) {
      this.closedRaised = true;
      this.raise(Ev.CLOSED);
    }
  }

  /** ACK now (piggybacked if possible, else a pure ACK at the end of the batch). */
  ackSoon(): void {
    this.ackNow = true;
    if (this.ctx.inBatch) this.ctx.deferAck(this);
    else sendAckNow(this);
  }

  /** SEGMENT ARRIVES (input.ts). */
  segmentArrives(seg: Segment): void {
    segmentArrives(this, seg);
  }

  /** Active open (RFC 9293 3.10.1 OPEN in CLOSED): ISS, SYN, SYN-SENT. Returns the IP layer's error for the SYN. */
  openActive(): ErrnoName | undefined {
    const ctx = this.ctx;
    this.iss = ctx.isn.next(this);
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.bufSeq = this.sndNxt;
    this.recoveryPoint = this.iss;
    this.advMss = advertisedMss(this);
    this.rcvWscale = ctx.config.windowScaling ? chooseWscale(this.rcvCapacity) : 0;
    this.rttSeq = this.sndNxt;
    this.rttTime = ctx.clock.now();
    this.ensureSendBuf();
    this.setState('SYN-SENT');
    ctx.counters.ActiveOpens++;
    return sendSyn(this);
  }
}
