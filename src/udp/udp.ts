/**
 * UDP (RFC 768, RFC 1122 section 4.1): port demultiplexing, per-socket receive queues,
 * sending through IPv4, and ICMP errors turned into socket errors.
 *
 * `UdpLayer` is registered with IPv4 as protocol 17. The socket layer (src/socket) opens
 * `UdpSocket`s from it; a UdpSocket is the protocol control block: local and remote
 * endpoint, receive queue, pending error. Nothing here blocks: the socket layer waits on
 * the handler callbacks.
 *
 * Linux behaviour followed (net/ipv4/udp.c):
 * - bind conflicts: same port and overlapping addresses conflict unless BOTH sockets set
 *   SO_REUSEADDR; ephemeral ports come from 32768..60999 and never collide with any bound port;
 * - a connected socket only receives from its peer; the best match wins (connected over
 *   wildcard, specific local address over INADDR_ANY, the most recently bound on a tie);
 * - hard ICMP errors (port unreachable...) become a pending error on CONNECTED sockets
 *   only, returned by the next send or receive;
 * - counters mirror the `Udp:` line of /proc/net/snmp.
 */
import type { Clock } from '../core/clock.js';
import { counters } from '../core/counters.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Rng } from '../core/rng.js';
import {
  IpProto,
  ipToString,
  type IcmpErrorInfo,
  type IpProtocolHandler,
  type IpRxInfo,
  type IpSender,
} from '../ip/types.js';
import { UDP_HEADER_LEN, UDP_MAX_PAYLOAD, UdpView, emitUdp, quotedPorts } from './header.js';

export { UDP_MAX_PAYLOAD } from './header.js';

export const UDP_COUNTER_NAMES = [
  'InDatagrams',
  'NoPorts',
  'InErrors',
  'OutDatagrams',
  'RcvbufErrors',
  'SndbufErrors',
  'InCsumErrors',
  'IgnoredMulti',
] as const;
export type UdpCounterName = (typeof UDP_COUNTER_NAMES)[number];

/** Default SO_RCVBUF for UDP sockets (Linux net.core.rmem_default). */
export const UDP_DEFAULT_RCVBUF = 212992;
/**
 * Bookkeeping charged per queued datagram on top of its payload (Linux charges the skb
 * truesize). It bounds a queue of empty datagrams too.
 */
export const UDP_DATAGRAM_OVERHEAD = 64;

/** Ephemeral port range (Linux net.ipv4.ip_local_port_range). */
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;

const BROADCAST = 0xffffffff;

export interface UdpSocketHandler {
  /** A datagram was queued, or a pending error was set: a blocked receiver should look again. */
  readable(): void;
  /** A pending error was set (e.g. ECONNREFUSED after ICMP port unreachable). */
  error?(code: ErrnoName): void;
}

/** Where a received datagram came from; filled by `recv()`. */
export interface UdpSource {
  addr: number;
  port: number;
}

interface QueuedDatagram {
  data: Uint8Array;
  addr: number;
  port: number;
}

/** A first-in first-out queue that does not shift arrays (O(1) push and pop). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

/** One UDP endpoint (protocol control block). Created by `UdpLayer.open()`. */
export class UdpSocket {
  private readonly layer: UdpLayer;
  private handler: UdpSocketHandler | undefined = undefined;
  private readonly queue = new Fifo<QueuedDatagram>();
  private queued = 0;
  private pendingError: ErrnoName | undefined = undefined;

  /** Bound local address (0 = INADDR_ANY) and port (0 = not bound). */
  localAddr = 0;
  localPort = 0;
  /** Default peer set by connect(); 0/0 when not connected. */
  remoteAddr = 0;
  remotePort = 0;
  /** SO_REUSEADDR: share the port with other sockets that also set it. */
  reuseAddr = false;
  /** SO_BROADCAST: allow sending to 255.255.255.255 (EACCES otherwise, like Linux). */
  broadcast = false;
  /** SO_RCVBUF: bytes the receive queue may hold (payload + UDP_DATAGRAM_OVERHEAD each). */
  rcvbuf = UDP_DEFAULT_RCVBUF;
  /** Sequence number of the bind, so the most recently bound socket wins a tie. */
  bindOrder = 0;
  closed = false;

  constructor(layer: UdpLayer) {
    this.layer = layer;
  }

  get bound(): boolean {
    return this.localPort !== 0;
  }

  get connected(): boolean {
    return this.remotePort !== 0;
  }

  setHandler(handler: UdpSocketHandler | undefined): void {
    this.handler = handler;
  }

  /** Bind to addr:port (port 0 = pick an ephemeral port). EINVAL when already bound. */
  bind(addr: number, port: number): ErrnoName | undefined {
    if (this.closed) return 'EBADF';
    if (this.bound) return 'EINVAL';
    return this.layer.bindSocket(this, addr >>> 0, port);
  }

  /**
   * Set the default peer (RFC 1122 4.1.3.4 leaves this to the API; Linux filters incoming
   * datagrams by it). Binds an ephemeral port first when unbound.
   */
  connect(addr: number, port: number): ErrnoName | undefined {
    if (this.closed) return 'EBADF';
    if (port <= 0 || port > 0xffff) return 'EINVAL';
    if (addr >>> 0 === BROADCAST && !this.broadcast) return 'EACCES';
    if (!this.bound) {
      const e = this.layer.bindSocket(this, 0, 0);
      if (e !== undefined) return e;
    }
    this.remoteAddr = addr >>> 0;
    this.remotePort = port;
    this.pendingError = undefined;
    return undefined;
  }

  /** Dissolve the association (connect with AF_UNSPEC). */
  disconnect(): void {
    this.remoteAddr = 0;
    this.remotePort = 0;
  }

  /**
   * Send one datagram to addr:port, or to the connected peer when addr is undefined.
   * Returns the number of bytes sent or an errno name. A pending error is returned
   * (and cleared) first, as Linux does.
   */
  send(data: Uint8Array, addr?: number, port?: number): number | ErrnoName {
    if (this.closed) return 'EBADF';
    const err = this.takeError();
    if (err !== undefined) return err;
    let dst: number;
    let dport: number;
    if (addr === undefined) {
      if (!this.connected) return 'EDESTADDRREQ';
      dst = this.remoteAddr;
      dport = this.remotePort;
    } else {
      dst = addr >>> 0;
      dport = port ?? 0;
      if (dport <= 0 || dport > 0xffff) return 'EINVAL';
    }
    if (dst === BROADCAST && !this.broadcast) return 'EACCES';
    if (data.length > UDP_MAX_PAYLOAD) return 'EMSGSIZE';
    if (!this.bound) {
      const e = this.layer.bindSocket(this, 0, 0);
      if (e !== undefined) return e;
    }
    return this.layer.sendFrom(this, data, dst, dport);
  }

  /** Bytes in the first queued datagram, or -1 when the queue is empty. */
  get nextLength(): number {
    const d = this.queue.peek();
    return d === undefined ? -1 : d.data.length;
  }

  /** Datagrams waiting. */
  get queuedDatagrams(): number {
    return this.queue.length;
  }

  /** Bytes charged to the receive queue (compare with rcvbuf). */
  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * Copy the first queued datagram into dst (truncating: the rest of that datagram is
   * discarded, datagram boundaries are kept) and fill `from`. Returns the number of bytes
   * copied, or -1 when nothing is queued. With `peek`, the datagram stays queued.
   */
  recv(dst: Uint8Array, from?: UdpSource, peek = false): number {
    const d = peek ? this.queue.peek() : this.queue.shift();
    if (d === undefined) return -1;
    if (!peek) this.queued -= d.data.length + UDP_DATAGRAM_OVERHEAD;
    const n = Math.min(dst.length, d.data.length);
    dst.set(n === d.data.length ? d.data : d.data.subarray(0, n));
    if (from !== undefined) {
      from.addr = d.addr;
      from.port = d.port;
    }
    return n;
  }

  /** Drop everything queued (shutdown(SHUT_RD)). */
  flush(): void {
    this.queue.clear();
    this.queued = 0;
  }

  /** The pending error, cleared by reading it (SO_ERROR). */
  takeError(): ErrnoName | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }

  get hasError(): boolean {
    return this.pendingError !== undefined;
  }

  /** Release the port and drop the queue. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.unbindSocket(this);
    this.flush();
    this.handler = undefined;
  }

  /** Called by the layer: queue a received datagram if there is room. */
  deliver(payload: Uint8Array, src: number, srcPort: number): boolean {
    const charge = payload.length + UDP_DATAGRAM_OVERHEAD;
    // Like Linux (__udp_enqueue_schedule_skb), a datagram that alone exceeds the buffer
    // still gets into an empty queue; otherwise the queue is bounded by SO_RCVBUF.
    if (this.queue.length > 0 && this.queued + charge > this.rcvbuf) return false;
    this.queue.push({ data: payload.slice(), addr: src, port: srcPort });
    this.queued += charge;
    this.handler?.readable();
    return true;
  }

  /** Called by the layer: an ICMP error or resolution failure for our peer. */
  setError(code: ErrnoName): void {
    this.pendingError = code;
    this.handler?.error?.(code);
    this.handler?.readable();
  }
}

export interface UdpLayerOptions {
  ip: IpSender;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
}

export class UdpLayer implements IpProtocolHandler {
  readonly counters = counters(UDP_COUNTER_NAMES);
  private readonly ip: IpSender;
  readonly clock: Clock;
  private readonly rng: Rng;
  private readonly logger: Logger;
  /** Sockets by local port, in bind order. */
  private readonly ports = new Map<number, UdpSocket[]>();
  private bindSeq = 0;

  constructor(opts: UdpLayerOptions) {
    this.ip = opts.ip;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.logger = opts.logger ?? silentLogger;
  }

  /** A new, unbound socket. */
  open(): UdpSocket {
    return new UdpSocket(this);
  }

  /** Number of bound sockets (for tests and stats). */
  get socketCount(): number {
    let n = 0;
    for (const list of this.ports.values()) n += list.length;
    return n;
  }

  // ---- binding -------------------------------------------------------------------------

  /** @internal Used by UdpSocket.bind/connect/send. */
  bindSocket(s: UdpSocket, addr: number, port: number): ErrnoName | undefined {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) return 'EINVAL';
    if (addr !== 0 && addr !== this.ip.localAddr && addr !== BROADCAST) return 'EADDRNOTAVAIL';
    if (port === 0) {
      const p = this.pickEphemeral();
      if (p === undefined) return 'EAGAIN';
      port = p;
    } else {
      for (const o of this.ports.get(port) ?? []) {
        // Linux udp_lib_lport_inuse: overlapping addresses conflict unless both reuse.
        const overlap = o.localAddr === 0 || addr === 0 || o.localAddr === addr;
        if (overlap && !(o.reuseAddr && s.reuseAddr)) return 'EADDRINUSE';
      }
    }
    s.localAddr = addr;
    s.localPort = port;
    s.bindOrder = ++this.bindSeq;
    let list = this.ports.get(port);
    if (list === undefined) {
      list = [];
      this.ports.set(port, list);
    }
    list.push(s);
    return undefined;
  }

  /** @internal */
  unbindSocket(s: UdpSocket): void {
    if (s.localPort === 0) return;
    const list = this.ports.get(s.localPort);
    if (list !== undefined) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.ports.delete(s.localPort);
    }
  }

  /** A port no socket uses, scanning from a random start (Linux udp_lib_get_port). */
  private pickEphemeral(): number | undefined {
    const n = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = this.rng.nextU32() % n;
    for (let i = 0; i < n; i++) {
      const p = EPHEMERAL_LOW + ((start + i) % n);
      if (!this.ports.has(p)) return p;
    }
    return undefined;
  }

  // ---- sending -------------------------------------------------------------------------

  /** @internal Build the datagram in the IP scratch buffer and send it. */
  sendFrom(s: UdpSocket, data: Uint8Array, dst: number, dport: number): number | ErrnoName {
    const buf = this.ip.scratch;
    const src = s.localAddr !== 0 && s.localAddr !== BROADCAST ? s.localAddr : this.ip.localAddr;
    buf.set(data, UDP_HEADER_LEN);
    const len = emitUdp(buf, src, dst, s.localPort, dport, data.length);
    // Datagrams larger than the path MTU are fragmented by IPv4 (DF clear), RFC 1122 4.1.4.
    const err = this.ip.send(dst, IpProto.UDP, len);
    if (err !== undefined) {
      if (err === 'ENOBUFS') this.counters.SndbufErrors++;
      return err;
    }
    this.counters.OutDatagrams++;
    return data.length;
  }

  // ---- receiving -----------------------------------------------------------------------

  receive(info: IpRxInfo, payload: Uint8Array): boolean {
    const v = UdpView.parse(payload, info.src, info.dst, info.checksumVerified !== true);
    if (typeof v === 'string') {
      // RFC 1122 4.1.3.4: a datagram with a bad checksum is silently discarded (no ICMP).
      this.counters.InErrors++;
      if (v === 'bad-checksum') this.counters.InCsumErrors++;
      this.drop(info, `${v} (ip payload ${payload.length} bytes)`);
      return true;
    }
    const dport = v.dstPort;
    const list = this.ports.get(dport);
    const unicast = info.dst === this.ip.localAddr;
    if (!unicast) return this.deliverBroadcast(info, v, list);
    let best: UdpSocket | undefined = undefined;
    let bestScore = -1;
    if (list !== undefined) {
      for (const s of list) {
        const score = this.score(s, info.src, v.srcPort, info.dst);
        // Later-bound sockets win ties (list is in bind order).
        if (score >= bestScore && score >= 0) {
          best = s;
          bestScore = score;
        }
      }
    }
    if (best === undefined) {
      // RFC 1122 4.1.3.1: "If a datagram arrives addressed to a UDP port for which there
      // is no pending LISTEN call, UDP SHOULD send an ICMP Port Unreachable message."
      this.counters.NoPorts++;
      this.drop(info, `no socket on port ${dport}`);
      return false;
    }
    this.enqueue(best, info, v);
    return true;
  }

  /** Linux compute_score: -1 = no match; a specific local address and a connected peer score higher. */
  private score(s: UdpSocket, src: number, sport: number, dst: number): number {
    let score = 0;
    if (s.localAddr !== 0) {
      if (s.localAddr !== dst) return -1;
      score += 4;
    }
    if (s.connected) {
      if (s.remoteAddr !== src || s.remotePort !== sport) return -1;
      score += 8;
    }
    return score;
  }

  /** Broadcast: every matching socket gets a copy (Linux __udp4_lib_mcast_deliver); never an ICMP error. */
  private deliverBroadcast(info: IpRxInfo, v: UdpView, list: UdpSocket[] | undefined): boolean {
    let n = 0;
    if (list !== undefined) {
      for (const s of list) {
        if (s.localAddr !== 0 && s.localAddr !== info.dst && s.localAddr !== BROADCAST) continue;
        if (s.connected && (s.remoteAddr !== info.src || s.remotePort !== v.srcPort)) continue;
        this.enqueue(s, info, v);
        n++;
      }
    }
    if (n === 0) {
      this.counters.IgnoredMulti++;
      this.drop(info, `broadcast to port ${v.dstPort} with no socket`);
    }
    return true;
  }

  private enqueue(s: UdpSocket, info: IpRxInfo, v: UdpView): void {
    if (s.deliver(v.payload, info.src, v.srcPort)) {
      this.counters.InDatagrams++;
      return;
    }
    // Linux counts a full receive queue as both RcvbufErrors and InErrors.
    this.counters.RcvbufErrors++;
    this.counters.InErrors++;
    this.drop(info, `receive queue full on port ${s.localPort} (${s.queuedBytes}/${s.rcvbuf} bytes)`);
  }

  private drop(info: IpRxInfo, why: string): void {
    if (this.logger.enabled('udp')) this.logger.log('udp', `drop from ${ipToString(info.src)}: ${why}`);
  }

  /**
   * RFC 1122 4.1.3.3: "UDP MUST pass to the application layer all ICMP error messages
   * that it receives from the IP layer." Like Linux (without IP_RECVERR), only hard
   * errors reach the application, and only on connected sockets: an unconnected socket
   * cannot tell which of its destinations failed.
   */
  receiveIcmpError(err: IcmpErrorInfo): void {
    const ports = quotedPorts(err.quoted);
    if (ports === undefined || !isHardError(err.type, err.code)) return;
    const list = this.ports.get(ports.srcPort);
    if (list === undefined) return;
    for (const s of list) {
      if (!s.connected || s.remoteAddr !== err.dst || s.remotePort !== ports.dstPort) continue;
      if (s.localAddr !== 0 && s.localAddr !== err.src) continue;
      if (this.logger.enabled('udp')) {
        this.logger.log('udp', `icmp ${err.type}/${err.code} for port ${s.localPort} -> ${err.errno}`);
      }
      s.setError(err.errno);
    }
  }

  /** ARP resolution toward dst failed: connected sockets whose peer is dst get EHOSTUNREACH. */
  unreachable(dst: number, errno: ErrnoName): void {
    for (const list of this.ports.values()) {
      for (const s of list) if (s.connected && s.remoteAddr === dst) s.setError(errno);
    }
  }
}

/**
 * Hard ICMP errors, after Linux icmp_err_convert: destination unreachable codes 2
 * (protocol), 3 (port), 6-10 and 13-15 (unknown/prohibited/filtered), and parameter problem.
 * Net/host unreachable (0, 1, 11, 12), fragmentation needed (4) and time exceeded are soft.
 */
function isHardError(type: number, code: number): boolean {
  if (type === 12) return true;
  if (type !== 3) return false;
  return code === 2 || code === 3 || (code >= 6 && code <= 10) || (code >= 13 && code <= 15);
}
