/**
 * The TCP layer: the TcpService the socket layer uses (bind/listen/connect) and the
 * IpProtocolHandler IPv4 delivers to. It owns the connection and port tables, demultiplexes
 * segments (connection, then listener, else a reset, RFC 9293 3.10.7.1), routes ICMP errors
 * (RFC 9293 3.9.2.2 / RFC 1122 4.2.3.9), sends the ACKs decided during a receive batch once
 * at its end (MUST-58/59), and keeps the stack-wide counters.
 *
 * TIME-WAIT connections that their application closed are kept as compact TimeWait records
 * (tables.ts; Linux's timewait socks): compacted at the end of the batch that put them there,
 * expired by one layer timer in expiry order, revived into a Connection for any segment.
 */
import type { Clock, Timer } from '../core/clock.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Rng } from '../core/rng.js';
import { TimeHeap } from '../core/heap.js';
import { seq, seqAdd, seqGe, seqLe, type Seq } from '../core/seq.js';
import { SipHash } from '../core/siphash.js';
import { ipToString, type IcmpErrorInfo, type IpProtocolHandler, type IpRxInfo, type IpSender } from '../ip/types.js';
import type { TcpConnection, TcpConnectionHandler, TcpListener, TcpOptions, TcpService } from './api.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './config.js';
import { Connection, type ConnectionInit, type ConnectionShared } from './connection.js';
import { OptionSets } from './option-sets.js';
import { decodeSegment, OptionsOut, Segment, TcpFlag } from './header.js';
import { timeWaitAcceptsSyn } from './input.js';
import { IsnGenerator } from './isn.js';
import { Listener, type ListenerHost } from './listener.js';
import { emitStateless, sendAckNow } from './output.js';
import { createTcpStats, type TcpStats } from './stats.js';
import { BufferPool } from './send-buffer.js';
import { SynCookies } from './syncookie.js';
import { ConnTable, PortTable, TimeWait, type PortUser, type TimeWaitSink } from './tables.js';
import { cancelAllTimers } from './timers.js';

export interface TcpLayerInit {
  ip: IpSender;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
  config?: Partial<TcpConfig>;
}

const { RST, ACK } = TcpFlag;

/** Multicast (224/4), limited broadcast, or 0.0.0.0 as a source: not a TCP peer (MUST-57, MUST-63). */
function badPeerAddr(a: number): boolean {
  return a >>> 28 === 0xe || a === 0xffffffff || a === 0;
}
function badLocalAddr(a: number): boolean {
  return a >>> 28 === 0xe || a === 0xffffffff;
}

export class TcpLayer implements TcpService, IpProtocolHandler, ListenerHost, TimeWaitSink {
  readonly ip: IpSender;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly config: Readonly<TcpConfig>;
  readonly counters: TcpStats = createTcpStats();
  readonly isn: IsnGenerator;
  readonly cookies: SynCookies;
  readonly optionsOut = new OptionsOut();
  readonly sackScratch = new Uint32Array(8);
  /** Storage for every connection's send and receive buffers (taken on demand, given back when empty). */
  readonly bufferPool = new BufferPool();
  inBatch = false;
  timeWaitCount = 0;

  private readonly conns = new ConnTable();
  private readonly ports = new PortTable();
  private readonly listeners = new Map<number, Listener[]>();
  /** The port reservations of listeners (a connection keeps its own, Connection.portUser). */
  private readonly portUser = new Map<Listener, PortUser>();
  private connPortHolders = 0;
  private readonly seg = new Segment();
  private readonly pendingAcks: Connection[] = [];
  private readonly flushTimer: Timer;
  private readonly tsKey: SipHash;
  private challengeStart = -Infinity;
  private challengeCount = 0;
  /** TIME-WAIT records by expiry (revived ones stay until popped, marked dead), and its timer. */
  private readonly timeWaits = new TimeHeap<TimeWait>();
  private readonly timeWaitTimer: Timer;
  /** Orphaned TIME-WAIT connections to compact once the batch's ACKs are out. */
  private readonly toCompact: Connection[] = [];
  /** What all connections of this layer share (buffer pool, TIME-WAIT sink, option sets). */
  private readonly connShared: ConnectionShared;

  constructor(init: TcpLayerInit) {
    this.ip = init.ip;
    this.clock = init.clock;
    this.rng = init.rng;
    this.logger = init.logger ?? silentLogger;
    this.config = Object.freeze({ ...DEFAULT_TCP_CONFIG, ...init.config });
    this.isn = new IsnGenerator(this.clock, this.rng);
    this.cookies = new SynCookies(this.clock, this.rng);
    this.tsKey = SipHash.random(this.rng);
    this.flushTimer = this.clock.createTimer(() => this.batchEnd());
    this.timeWaitTimer = this.clock.createTimer(() => this.expireTimeWaits());
    this.connShared = { pool: this.bufferPool, timeWaits: this, optionSets: new OptionSets(this.config) };
  }

  /** A snapshot of the counters (Linux /proc/net/snmp Tcp + TcpExt). */
  stats(): TcpStats {
    return { ...this.counters };
  }

  /**
   * Live connections (any state but CLOSED), for diagnostics and tests. A compacted TIME-WAIT
   * connection appears as its Connection object if someone still holds it, else as a copy
   * rebuilt from its record (not in the tables).
   */
  connections(): Connection[] {
    const out: Connection[] = [];
    for (const e of this.conns.values()) {
      if (!(e instanceof TimeWait)) out.push(e);
      else {
        const c = e.ref.deref();
        out.push(c !== undefined && c.detached === e ? c : this.rebuild(e));
      }
    }
    return out;
  }

  /** Table sizes (leak checks, monitoring): all zero once every connection and listener is gone. */
  diagnostics(): {
    connections: number;
    timeWait: number;
    listeners: number;
    ports: number;
    portHolders: number;
    pendingAcks: number;
  } {
    let listeners = 0;
    for (const list of this.listeners.values()) listeners += list.length;
    return {
      connections: this.conns.size,
      timeWait: this.timeWaitCount,
      listeners,
      ports: this.ports.size,
      portHolders: this.portUser.size + this.connPortHolders,
      pendingAcks: this.pendingAcks.length,
    };
  }

  /** Shut the layer down: listeners closed, every connection reset, timers stopped. */
  close(): void {
    for (const list of [...this.listeners.values()]) for (const l of [...list]) l.close();
    for (const c of [...this.conns.values()]) {
      if (c instanceof TimeWait) this.dropTimeWait(c);
      else c.abort();
    }
    this.flushTimer.cancel();
    this.pendingAcks.length = 0;
    this.toCompact.length = 0;
    this.timeWaits.clear();
    this.timeWaitTimer.cancel();
  }

  // ---------------------------------------------------------------- TcpService

  bind(localAddr: number, localPort: number, reuseAddr: boolean): { port: number } | ErrnoName {
    localAddr >>>= 0;
    if (badLocalAddr(localAddr)) return 'EADDRNOTAVAIL';
    if (!Number.isInteger(localPort) || localPort < 0 || localPort > 0xffff) return 'EINVAL';
    let port = localPort;
    if (port === 0) {
      const p = this.pickEphemeral();
      if (p === undefined) return 'EADDRINUSE';
      port = p;
    } else if (this.ports.conflicts(localAddr, port, reuseAddr)) {
      return 'EADDRINUSE';
    }
    this.ports.add(port, { addr: localAddr, reuse: reuseAddr, kind: 'bind' });
    return { port };
  }

  unbind(localAddr: number, localPort: number): void {
    const u = this.ports.findBind(localAddr >>> 0, localPort);
    if (u !== undefined) this.ports.remove(localPort, u);
  }

  listen(localAddr: number, localPort: number, backlog: number, opts?: TcpOptions): TcpListener | ErrnoName {
    localAddr >>>= 0;
    if (!Number.isInteger(localPort) || localPort <= 0 || localPort > 0xffff) return 'EINVAL';
    let u = this.ports.findBind(localAddr, localPort);
    if (u === undefined) {
      if (this.ports.conflicts(localAddr, localPort, false)) return 'EADDRINUSE';
      u = { addr: localAddr, reuse: false, kind: 'bind' };
      this.ports.add(localPort, u);
    }
    // Two listeners on overlapping addresses never coexist (Linux inet_csk_get_port at listen()).
    for (const o of this.ports.users(localPort)) {
      if (o !== u && o.kind === 'listen' && (o.addr === 0 || localAddr === 0 || o.addr === localAddr)) return 'EADDRINUSE';
    }
    u.kind = 'listen';
    const l = new Listener(this, localAddr, localPort, backlog, opts ?? {});
    this.portUser.set(l, u);
    let list = this.listeners.get(localPort);
    if (list === undefined) {
      list = [];
      this.listeners.set(localPort, list);
    }
    list.push(l);
    return l;
  }

  connect(
    localAddr: number,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
    handler: TcpConnectionHandler,
    opts?: TcpOptions,
  ): TcpConnection | ErrnoName {
    localAddr >>>= 0;
    remoteAddr >>>= 0;
    // MUST-46: no OPEN to a broadcast or multicast address.
    if (badPeerAddr(remoteAddr)) return 'ENETUNREACH';
    if (!Number.isInteger(remotePort) || remotePort <= 0 || remotePort > 0xffff) return 'EINVAL';
    if (!Number.isInteger(localPort) || localPort < 0 || localPort > 0xffff) return 'EINVAL';
    // MUST-44/45: without a local address, ask IP for the source address.
    const la = localAddr === 0 ? this.ip.localAddr >>> 0 : localAddr;
    let port = localPort;
    let u: PortUser | undefined;
    if (port === 0) {
      const p = this.pickEphemeral();
      if (p === undefined) return 'EADDRNOTAVAIL';
      port = p;
    } else {
      if (this.conns.get(la, port, remoteAddr, remotePort) !== undefined) return 'EADDRNOTAVAIL';
      u = this.ports.findBind(localAddr, port);
      if (u === undefined && this.ports.conflicts(localAddr, port, false)) return 'EADDRINUSE';
    }
    if (u === undefined) {
      u = { addr: localAddr, reuse: false, kind: 'conn' };
      this.ports.add(port, u);
    }
    u.kind = 'conn';
    const c = this.createConnection({ localAddr: la, localPort: port, remoteAddr, remotePort, opts }, u);
    const err = c.openActive();
    if (err === 'ENETUNREACH') {
      c.fail(err);
      c.flushEvents();
      return err;
    }
    c.setHandler(handler);
    return c;
  }

  /** Ephemeral port (ip_local_port_range) with no holder at all, from a random start. */
  private pickEphemeral(): number | undefined {
    const lo = this.config.ephemeralLow;
    const range = this.config.ephemeralHigh - lo + 1;
    const start = this.rng.nextU32() % range;
    for (let i = 0; i < range; i++) {
      const p = lo + ((start + i) % range);
      if (!this.ports.inUse(p)) return p;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- IpProtocolHandler

  receive(info: IpRxInfo, payload: Uint8Array): boolean {
    const k = this.counters;
    k.InSegs++;
    this.inBatch = true;
    const seg = this.seg;
    const err = decodeSegment(payload, info.src, info.dst, seg, info.checksumVerified !== true);
    if (err !== undefined) {
      // MUST-3 / MUST-7: a bad checksum, offset or option length drops the segment.
      k.InErrs++;
      if (err === 'bad-checksum') k.InCsumErrors++;
      else if (err === 'bad-option') k.DropBadOption++;
      else k.DropBadHeader++;
      this.debug(() => `drop from ${ipToString(info.src)}: ${err}`);
      return true;
    }
    if (badPeerAddr(info.src) || badLocalAddr(info.dst)) {
      k.DropBadAddress++;
      this.debug(() => `drop: broadcast/multicast address ${ipToString(info.src)} -> ${ipToString(info.dst)}`);
      return true;
    }
    let entry = this.conns.get(info.dst, seg.dstPort, info.src, seg.srcPort);
    let isnHint: Seq | undefined;
    if (entry instanceof TimeWait && entry.acceptsSyn(seg) && this.findListener(info.dst, seg.dstPort) !== undefined) {
      // MAY-2 (RFC 6191) on a compact record, as below for a Connection: the SYN ends
      // TIME-WAIT and the new ISS is above the old SND.NXT (Linux: + 65535 + 2).
      isnHint = seqAdd(seq(entry.sndMax >>> 0), 65537);
      this.endTimeWait(entry);
      entry = undefined;
    }
    const revived = entry instanceof TimeWait;
    let c: Connection | undefined = entry instanceof TimeWait ? this.revive(entry) : entry;
    if (
      c !== undefined &&
      c.state === 'TIME-WAIT' &&
      timeWaitAcceptsSyn(c, seg) &&
      this.findListener(info.dst, seg.dstPort) !== undefined
    ) {
      // MAY-2 (RFC 6191): a new SYN ends TIME-WAIT; the new ISS is above the old SND.NXT (Linux: + 65535 + 2).
      // Without a listener TIME-WAIT stays and answers the SYN with an ACK (Linux TCP_TW_SYN
      // falls through to TCP_TW_ACK), rather than dying for a RST from a closed port.
      isnHint = seqAdd(c.sndMax, 65537);
      c.destroy();
      c.flushEvents();
      c = undefined;
    } else if (c !== undefined && c.state === 'SYN-RECEIVED' && c.passive && seg.ack !== seqAdd(c.iss, 1)) {
      // An ACK this half-open connection cannot take may be the ACK of a cookie SYN-ACK sent
      // for the same SYN (Listener.isCookieAck): the cookie wins, the half-open one goes.
      const l = this.findListener(info.dst, seg.dstPort);
      if (l !== undefined && l.isCookieAck(seg, info.src, info.dst)) {
        this.debug(() => `${c!.name()}: ACK of our SYN cookie, the half-open duplicate is dropped`);
        c.destroy();
        c.flushEvents();
        c = undefined;
      }
    }
    if (c !== undefined) {
      const owner = c.owner;
      c.segmentArrives(seg);
      c.flushEvents();
      if (owner instanceof Listener) owner.flushEvents();
      if (revived && c.state === 'TIME-WAIT') this.orphanedTimeWait(c);
      return true;
    }
    const l = this.findListener(info.dst, seg.dstPort);
    if (l !== undefined) {
      l.input(seg, info.src, info.dst, isnHint);
      l.flushEvents();
      return true;
    }
    k.DropClosed++;
    this.debug(() => `no connection for :${seg.dstPort} from ${ipToString(info.src)}:${seg.srcPort}, RST`);
    this.resetForClosed(seg, info.src, info.dst);
    return true;
  }

  /**
   * RFC 9293 3.10.7.1, no connection: never answer a RST; with ACK <SEQ=SEG.ACK><CTL=RST>,
   * else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
   */
  private resetForClosed(seg: Segment, src: number, dst: number): void {
    if (seg.flags & RST) return;
    if (seg.flags & ACK) emitStateless(this, dst, src, seg.dstPort, seg.srcPort, seg.ack, 0, RST, 0);
    else emitStateless(this, dst, src, seg.dstPort, seg.srcPort, 0, seqAdd(seg.seq, seg.len), RST | ACK, 0);
  }

  private findListener(addr: number, port: number): Listener | undefined {
    const list = this.listeners.get(port);
    if (list === undefined) return undefined;
    let wild: Listener | undefined;
    for (const l of list) {
      if (l.localAddr === addr) return l;
      if (l.localAddr === 0) wild = l;
    }
    return wild;
  }

  /**
   * ICMP errors (RFC 1122 4.2.3.9, RFC 9293 3.9.2.2). Only errors quoting a sequence number
   * we have in flight count (RFC 5927 4.1; Linux OutOfWindowIcmps).
   *   - fragmentation needed: lower the MSS to the next-hop MTU and resend (RFC 1191);
   *   - destination unreachable in SYN-SENT: the connect fails at once with the mapped errno
   *     (port/protocol unreachable -> ECONNREFUSED, host/net unreachable -> EHOSTUNREACH /
   *     ENETUNREACH). RFC 1122 4.2.3.9 calls host/net unreachable soft, but Linux
   *     (tcp_v4_err) aborts a connection attempt on any of them, and a connect() to a dead
   *     host should fail in seconds, not after the SYN retries;
   *   - anything else, and everything after SYN-SENT (net/host unreachable, time exceeded,
   *     parameter problem): a soft error, reported only if the connection later times out
   *     (MUST-56: do not abort a synchronized connection); source quench is ignored (MUST-55).
   */
  receiveIcmpError(err: IcmpErrorInfo): void {
    const q = err.quoted;
    if (q.length < 8) return;
    const sport = (q[0]! << 8) | q[1]!;
    const dport = (q[2]! << 8) | q[3]!;
    const sq = seq(((q[4]! << 24) | (q[5]! << 16) | (q[6]! << 8) | q[7]!) >>> 0);
    const c = this.conns.get(err.src >>> 0, sport, err.dst >>> 0, dport);
    // Linux tcp_v4_err ignores errors about TIME-WAIT sockets.
    if (c === undefined || c instanceof TimeWait) return;
    const inFlight =
      c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED' ? sq === c.iss : seqGe(sq, c.sndUna) && seqLe(sq, c.sndMax);
    if (!inFlight) {
      this.counters.OutOfWindowIcmps++;
      return;
    }
    if (err.type === 3) {
      if (err.code === 4) {
        if (err.nextHopMtu >= 68) c.lowerMtu(err.nextHopMtu);
      } else if (c.state === 'SYN-SENT') {
        c.fail(err.code === 2 || err.code === 3 ? 'ECONNREFUSED' : err.errno);
      } else {
        c.softError = err.errno;
      }
    } else if (err.type === 11 || err.type === 12) {
      c.softError = err.errno;
    }
    c.flushEvents();
  }

  /**
   * ARP resolution toward `dst` failed (EHOSTUNREACH). A connection attempt (SYN-SENT) fails
   * at once, as on Linux (the neighbour failure comes back to tcp_v4_err as a host
   * unreachable); for other connections it is a soft error, reported if they time out.
   */
  unreachable(dst: number, errno: ErrnoName): void {
    const failing: Connection[] = [];
    for (const c of this.conns.values()) {
      if (c instanceof TimeWait || c.remoteAddr !== dst >>> 0) continue;
      if (c.state === 'SYN-SENT') failing.push(c);
      else c.softError = errno;
    }
    for (const c of failing) {
      c.fail(errno);
      c.flushEvents();
    }
  }

  /** End of a receive batch: send the ACKs decided during it, one per connection. */
  batchEnd(): void {
    this.inBatch = false;
    this.flushTimer.cancel();
    const list = this.pendingAcks;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      c.ackQueued = false;
      if (c.ackNow && c.state !== 'CLOSED') sendAckNow(c);
      c.flushEvents();
    }
    list.length = 0;
    const tw = this.toCompact;
    for (let i = 0; i < tw.length; i++) this.compact(tw[i]!);
    tw.length = 0;
  }

  // ---------------------------------------------------------------- services for connections

  deferAck(c: Connection): void {
    if (c.ackQueued) return;
    c.ackQueued = true;
    this.pendingAcks.push(c);
    // Fallback if the IP layer never calls batchEnd(): flush on the next timer tick.
    if (this.flushTimer.deadline === undefined) this.flushTimer.arm(this.clock.now());
  }

  connectionClosed(c: Connection): void {
    this.conns.remove(c);
    const u = c.portUser;
    if (u !== undefined) {
      this.ports.remove(c.localPort, u);
      c.portUser = undefined;
      this.connPortHolders--;
    }
    // A compacted connection closed through its object (abort() after close()): its record goes.
    const tw = c.detached;
    if (tw !== undefined) {
      c.detached = undefined;
      this.removeTimeWait(tw);
    }
  }

  // ---------------------------------------------------------------- compact TIME-WAIT

  /** TimeWaitSink: `c` is in TIME-WAIT and closed by its application; compact it after this batch. */
  orphanedTimeWait(c: Connection): void {
    if (!this.inBatch) {
      this.compact(c);
      return;
    }
    if (this.toCompact.includes(c)) return;
    this.toCompact.push(c);
    if (this.flushTimer.deadline === undefined) this.flushTimer.arm(this.clock.now());
  }

  /** Replace `c` in the tables by a TimeWait record (its timers stop; the record's expiry is its 2*MSL). */
  private compact(c: Connection): void {
    if (c.state !== 'TIME-WAIT' || !c.orphan || c.owner !== undefined || c.detached !== undefined || c.ackQueued) return;
    const expiry = c.keepTimer.deadline ?? this.clock.now() + 2 * this.config.msl;
    const u = c.portUser;
    const tw = new TimeWait(c, u, expiry);
    if (!this.conns.replace(c, tw)) return;
    if (u !== undefined) {
      this.ports.replace(c.localPort, u, tw);
      c.portUser = undefined;
    }
    c.detached = tw;
    cancelAllTimers(c);
    this.timeWaits.push(expiry, tw);
    this.armTimeWaitTimer();
  }

  /** A segment for a TimeWait record: the Connection again (the same object if still held), in the tables. */
  private revive(tw: TimeWait): Connection {
    let c = tw.ref.deref();
    if (c === undefined || c.detached !== tw) c = this.rebuild(tw);
    c.detached = undefined;
    tw.dead = true;
    this.conns.replace(tw, c);
    if (tw.slot !== undefined) {
      const u: PortUser = { addr: tw.addr, reuse: tw.reuse, kind: 'conn', conn: c, slot: undefined };
      this.ports.replace(tw.localPort, tw, u);
      c.portUser = u;
    }
    c.keepTimer.arm(tw.expiry);
    return c;
  }

  private rebuild(tw: TimeWait): Connection {
    const c = tw.toConnection(this, {
      localAddr: tw.localAddr,
      localPort: tw.localPort,
      remoteAddr: tw.remoteAddr,
      remotePort: tw.remotePort,
      opts: { recvBufferSize: tw.rcvCapacity },
      shared: this.connShared,
      passive: tw.passive,
    });
    c.tsOffset = this.tsOffset(c.localAddr, c.remoteAddr, c.localPort, c.remotePort);
    return c;
  }

  /** 2*MSL passed (RFC 9293 3.10.8 "delete the TCB"): records go; a held Connection reaches CLOSED. */
  private expireTimeWaits(): void {
    const now = this.clock.now();
    for (let t = this.timeWaits.peekTime(); t !== undefined && t <= now; t = this.timeWaits.peekTime()) {
      const tw = this.timeWaits.pop()!;
      if (tw.dead) continue;
      const c = tw.ref.deref();
      if (c !== undefined && c.detached === tw) {
        this.revive(tw).destroy();
        c.flushEvents();
      } else {
        this.dropTimeWait(tw);
      }
    }
    this.armTimeWaitTimer();
  }

  /**
   * End TIME-WAIT for a record (a SYN reopened its 4-tuple): gone from the tables; a
   * Connection object still held for it reaches CLOSED (and tells its handler).
   */
  private endTimeWait(tw: TimeWait): void {
    const c = tw.ref.deref();
    if (c !== undefined && c.detached === tw) {
      this.removeTimeWait(tw);
      c.detached = undefined;
      c.destroy(); // TIME-WAIT -> CLOSED also takes it off timeWaitCount
      c.flushEvents();
    } else {
      this.dropTimeWait(tw);
    }
  }

  /** Forget a record that no Connection stands for: tables, port, TIME-WAIT count. */
  private dropTimeWait(tw: TimeWait): void {
    this.removeTimeWait(tw);
    this.timeWaitCount--;
  }

  private removeTimeWait(tw: TimeWait): void {
    tw.dead = true;
    this.conns.remove(tw);
    if (tw.slot !== undefined) {
      this.ports.remove(tw.localPort, tw);
      this.connPortHolders--;
    }
  }

  private armTimeWaitTimer(): void {
    const heap = this.timeWaits;
    while (heap.size > 0 && heap.peekValue()!.dead) heap.pop();
    const t = heap.peekTime();
    if (t === undefined) this.timeWaitTimer.cancel();
    else if (this.timeWaitTimer.deadline !== t) this.timeWaitTimer.arm(t);
  }


  takeChallengeAck(): boolean {
    const now = this.clock.now();
    if (now - this.challengeStart >= 1000) {
      this.challengeStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckLimit) return false;
    this.challengeCount++;
    return true;
  }

  tsOffset(localAddr: number, remoteAddr: number, localPort: number, remotePort: number): number {
    return this.tsKey.hash3u32(localAddr >>> 0, remoteAddr >>> 0, ((localPort << 16) | remotePort) >>> 0);
  }

  debug(msg: () => string): void {
    if (this.logger.enabled('tcp')) this.logger.log('tcp', msg());
  }

  createConnection(init: ConnectionInit, user?: PortUser): Connection {
    init.shared = this.connShared;
    const c = new Connection(this, init);
    c.tsOffset = this.tsOffset(c.localAddr, c.remoteAddr, c.localPort, c.remotePort);
    this.conns.add(c);
    const u: PortUser = user ?? { addr: c.localAddr, reuse: true, kind: 'conn', conn: c, slot: undefined };
    u.conn = c;
    if (user === undefined) this.ports.add(c.localPort, u);
    c.portUser = u;
    this.connPortHolders++;
    return c;
  }

  listenerClosed(l: Listener): void {
    const list = this.listeners.get(l.localPort);
    if (list !== undefined) {
      const i = list.indexOf(l);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.listeners.delete(l.localPort);
    }
    const u = this.portUser.get(l);
    if (u !== undefined) {
      this.ports.remove(l.localPort, u);
      this.portUser.delete(l);
    }
  }
}
