/**
 * A small, deterministic stand-in for the TCP engine (TcpService), for testing the socket
 * layer's own logic: errno mapping, blocking and non-blocking semantics, poll, shutdown,
 * linger. Hosts on a FakeTcpNet exchange bytes through bounded send/receive buffers with
 * a fixed one-way delay on a ManualClock. No segments, no loss: just the contract.
 */
import type { Clock, Timer } from '../../src/core/clock.js';
import type { ErrnoName } from '../../src/core/errno.js';
import type {
  TcpConnection,
  TcpConnectionHandler,
  TcpInfo,
  TcpListener,
  TcpListenerHandler,
  TcpOptions,
  TcpService,
  TcpStateName,
} from '../../src/tcp/api.js';

const DEFAULTS: Required<TcpOptions> = {
  noDelay: false,
  keepAlive: false,
  keepIdle: 7200,
  keepInterval: 75,
  keepCount: 9,
  sendBufferSize: 4096,
  recvBufferSize: 4096,
  maxSegment: 1460,
  congestion: 'cubic',
};

export class FakeTcpNet {
  readonly clock: Clock;
  readonly hosts = new Map<number, FakeTcp>();
  /** One-way delay in ms. */
  delay = 1;
  /** How long a SYN to a host that does not exist goes unanswered before ETIMEDOUT. */
  synTimeoutMs = 3000;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  host(addr: number): FakeTcp {
    const h = new FakeTcp(this, addr);
    this.hosts.set(addr, h);
    return h;
  }
}

export class FakeTcp implements TcpService {
  readonly net: FakeTcpNet;
  readonly addr: number;
  readonly reserved = new Set<number>();
  readonly listeners = new Map<number, FakeListener>();
  readonly conns = new Set<FakeConn>();
  private nextEphemeral = 32768;

  constructor(net: FakeTcpNet, addr: number) {
    this.net = net;
    this.addr = addr;
  }

  bind(_localAddr: number, localPort: number, _reuseAddr: boolean): { port: number } | ErrnoName {
    if (localPort === 0) {
      while (this.inUse(this.nextEphemeral)) this.nextEphemeral++;
      localPort = this.nextEphemeral++;
    } else if (this.inUse(localPort)) return 'EADDRINUSE';
    this.reserved.add(localPort);
    return { port: localPort };
  }

  private inUse(port: number): boolean {
    if (this.reserved.has(port) || this.listeners.has(port)) return true;
    for (const c of this.conns) if (c.localPort === port && c.active) return true;
    return false;
  }

  unbind(_localAddr: number, localPort: number): void {
    this.reserved.delete(localPort);
  }

  listen(localAddr: number, localPort: number, backlog: number, opts?: TcpOptions): TcpListener | ErrnoName {
    if (this.listeners.has(localPort)) return 'EADDRINUSE';
    this.reserved.delete(localPort);
    const l = new FakeListener(this, localAddr, localPort, backlog, opts ?? {});
    this.listeners.set(localPort, l);
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
    if (localPort === 0) {
      const r = this.bind(localAddr, 0, false);
      if (typeof r === 'string') return r;
      localPort = r.port;
    }
    this.reserved.delete(localPort);
    const c = new FakeConn(this, localPort, remoteAddr, remotePort, 'SYN-SENT', opts ?? {});
    c.setHandler(handler);
    const peer = this.net.hosts.get(remoteAddr);
    if (peer === undefined) {
      c.after(this.net.synTimeoutMs, () => c.fail('ETIMEDOUT'));
    } else {
      c.after(this.net.delay, () => {
        const l = peer.listeners.get(remotePort);
        if (l === undefined) return c.fail('ECONNREFUSED');
        const s = new FakeConn(peer, remotePort, this.addr, localPort, 'ESTABLISHED', l.opts);
        s.peer = c;
        c.peer = s;
        c.after(this.net.delay, () => {
          if (c.state !== 'SYN-SENT') return;
          c.state = 'ESTABLISHED';
          c.handler?.connected();
        });
        l.queue.push(s);
        l.handler?.acceptable();
      });
    }
    return c;
  }
}

export class FakeListener implements TcpListener {
  readonly localAddr: number;
  readonly localPort: number;
  readonly queue: FakeConn[] = [];
  readonly opts: TcpOptions;
  handler: TcpListenerHandler | undefined = undefined;
  private readonly host: FakeTcp;
  closed = false;

  constructor(host: FakeTcp, addr: number, port: number, _backlog: number, opts: TcpOptions) {
    this.host = host;
    this.localAddr = addr;
    this.localPort = port;
    this.opts = opts;
  }

  setHandler(h: TcpListenerHandler): void {
    this.handler = h;
  }

  accept(): TcpConnection | undefined {
    return this.queue.shift();
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    this.host.listeners.delete(this.localPort);
    for (const c of this.queue.splice(0)) c.abort();
  }
}

export class FakeConn implements TcpConnection {
  readonly host: FakeTcp;
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  state: TcpStateName;
  handler: TcpConnectionHandler | undefined = undefined;
  peer: FakeConn | undefined = undefined;
  opts: Required<TcpOptions>;
  private sendQ: Uint8Array[] = [];
  private sendLen = 0;
  private recvQ: Uint8Array[] = [];
  private recvLen = 0;
  private finQueued = false;
  private finSent = false;
  finReceived = false;
  private rdShut = false;
  private pendingError: ErrnoName | undefined = undefined;
  private readonly pumpTimer: Timer;
  /** Bytes moved to the peer so far. */
  bytesSent = 0;

  constructor(host: FakeTcp, localPort: number, remoteAddr: number, remotePort: number, state: TcpStateName, opts: TcpOptions) {
    this.host = host;
    this.localAddr = host.addr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.state = state;
    this.opts = { ...DEFAULTS, ...opts };
    this.pumpTimer = host.net.clock.createTimer(() => this.pump());
    host.conns.add(this);
  }

  get active(): boolean {
    return this.state !== 'CLOSED';
  }

  after(ms: number, fn: () => void): void {
    const t = this.host.net.clock.createTimer(fn);
    t.arm(this.host.net.clock.now() + ms);
  }

  setHandler(handler: TcpConnectionHandler): void {
    this.handler = handler;
  }

  get readableLength(): number {
    return this.recvLen;
  }

  get eof(): boolean {
    return this.finReceived && this.recvLen === 0;
  }

  read(dst: Uint8Array): number {
    let n = 0;
    while (n < dst.length && this.recvQ.length > 0) {
      const c = this.recvQ[0]!;
      const k = Math.min(c.length, dst.length - n);
      dst.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.recvQ.shift();
      else this.recvQ[0] = c.subarray(k);
    }
    this.recvLen -= n;
    if (n > 0) this.peer?.schedulePump();
    return n;
  }

  get writableLength(): number {
    return Math.max(0, this.opts.sendBufferSize - this.sendLen);
  }

  write(src: Uint8Array): number {
    if (this.finQueued || this.state === 'CLOSED' || this.state === 'SYN-SENT') return -1;
    const n = Math.min(src.length, this.writableLength);
    if (n > 0) {
      this.sendQ.push(src.slice(0, n));
      this.sendLen += n;
      this.schedulePump();
    }
    return n;
  }

  schedulePump(): void {
    if (this.pumpTimer.deadline === undefined) this.pumpTimer.arm(this.host.net.clock.now() + this.host.net.delay);
  }

  /** Move what the peer has room for; then the FIN once everything is through. */
  private pump(): void {
    const p = this.peer;
    if (p === undefined || this.state === 'CLOSED') return;
    if (p.state === 'CLOSED') {
      if (this.sendLen > 0) this.fail('ECONNRESET'); // data to a closed peer draws a RST
      return;
    }
    const wasFull = this.writableLength === 0;
    let moved = 0;
    while (this.sendQ.length > 0) {
      const room = p.rdShut ? Infinity : p.opts.recvBufferSize - p.recvLen;
      if (room <= 0) break;
      const c = this.sendQ[0]!;
      const k = Math.min(c.length, room);
      if (!p.rdShut) {
        p.recvQ.push(c.slice(0, k));
        p.recvLen += k;
      }
      moved += k;
      if (k === c.length) this.sendQ.shift();
      else this.sendQ[0] = c.subarray(k);
    }
    this.sendLen -= moved;
    this.bytesSent += moved;
    if (moved > 0) {
      p.handler?.readable();
      if (wasFull || this.sendLen === 0) this.handler?.writable();
    }
    if (this.sendLen === 0 && this.finQueued && !this.finSent) {
      this.finSent = true;
      p.finReceived = true;
      if (p.state === 'ESTABLISHED') p.state = 'CLOSE-WAIT';
      if (this.state === 'ESTABLISHED') this.state = 'FIN-WAIT-2';
      if (this.state === 'CLOSE-WAIT') this.state = 'LAST-ACK';
      p.handler?.readable();
      if (this.finSent && this.finReceived) this.finish();
      if (p.finSent && p.finReceived) p.finish();
    }
  }

  shutdown(how: 'rd' | 'wr' | 'rdwr'): void {
    if (how !== 'wr') {
      this.rdShut = true;
      this.recvQ = [];
      this.recvLen = 0;
    }
    if (how !== 'rd' && !this.finQueued) {
      this.finQueued = true;
      this.schedulePump();
    }
  }

  close(): void {
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-SENT') {
      this.finish();
      return;
    }
    // RFC 9293 / Linux: closing with unread data resets the connection.
    if (this.recvLen > 0) return this.abort();
    this.shutdown('rdwr');
  }

  abort(): void {
    if (this.state === 'CLOSED') return;
    this.reset();
  }

  private reset(): void {
    const p = this.peer;
    this.sendQ = [];
    this.sendLen = 0;
    this.finish();
    if (p !== undefined && p.state !== 'CLOSED') p.after(this.host.net.delay, () => p.fail('ECONNRESET'));
  }

  fail(code: ErrnoName): void {
    if (this.state === 'CLOSED') return;
    this.pendingError = code;
    this.sendQ = [];
    this.sendLen = 0;
    this.handler?.error(code);
    this.finish();
  }

  private finish(): void {
    if (this.state === 'CLOSED') return;
    this.state = 'CLOSED';
    this.pumpTimer.cancel();
    this.host.conns.delete(this);
    this.handler?.closed();
  }

  setOptions(opts: TcpOptions): void {
    this.opts = { ...this.opts, ...opts };
  }

  get options(): Readonly<Required<TcpOptions>> {
    return this.opts;
  }

  info(): TcpInfo {
    return {
      state: this.state,
      cwnd: 10,
      ssthresh: 0xffff,
      srtt: 0,
      rttvar: 0,
      rto: 1000,
      mss: this.opts.maxSegment,
      bytesInFlight: this.sendLen,
      retransmits: 0,
      totalRetransmits: 0,
      sndWnd: 0,
      rcvWnd: this.opts.recvBufferSize - this.recvLen,
      sndWscale: 0,
      rcvWscale: 0,
      sackEnabled: false,
      timestampsEnabled: false,
      congestion: this.opts.congestion,
      bytesSent: this.bytesSent,
      bytesReceived: 0,
      bytesAcked: this.bytesSent,
    };
  }

  takeError(): ErrnoName | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }
}
