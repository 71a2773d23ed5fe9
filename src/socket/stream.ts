/**
 * The Node-idiomatic layer: `net`-like createServer()/connect() over the TCP engine,
 * with sockets that are real `stream.Duplex`es.
 *
 *   const net = createNet({ tcp: stack.tcp, clock: stack.clock, localAddr: stack.addr });
 *   net.createServer((sock) => sock.pipe(sock)).listen(9190);
 *   const c = net.connect({ host: '10.77.0.1', port: 7 }, () => c.end('hi'));
 *
 * Flow control is end to end: a socket reads from the TCP receive buffer only while the
 * stream wants data (push() returning false stops it, so the advertised window closes);
 * a write is handed to the TCP send buffer at once, and when that is full the write's
 * callback waits, later writes queue in the stream, `write()` returns false past the
 * high-water mark and 'drain' comes once the TCP buffer took everything (the same
 * layering as net.Socket over a kernel socket).
 *
 * Errors are StackErrors with a Node-style message and fields: `connect ECONNREFUSED
 * 10.77.0.2:9999`, err.code 'ECONNREFUSED', err.syscall 'connect', err.address, err.port.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type { Clock, Timer } from '../core/clock.js';
import { StackError, type ErrnoName } from '../core/errno.js';
import { ipToString, parseIp } from '../ip/types.js';
import type { TcpConnection, TcpConnectionHandler, TcpListener, TcpOptions, TcpService } from '../tcp/api.js';
import { strerror } from './errno.js';

export interface NetContext {
  tcp: TcpService;
  clock: Clock;
  /** Our IPv4 address (host-order number or dotted quad). */
  localAddr: number | string;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

/**
 * Node's `onread` (net.Socket option): received data is copied into one reusable buffer and
 * handed to `callback` instead of flowing through the stream as new Buffers ('data' is not
 * emitted for it); 'end', 'error' and 'close' come as usual. The callback returning false
 * pauses the socket (resume() continues). No Buffer is allocated per read.
 */
export interface OnRead {
  /** The buffer data is read into, or a function returning one for each read. */
  buffer: Uint8Array | (() => Uint8Array);
  /** Called for every chunk: the byte count and the buffer holding them (valid until the next read). */
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

export interface TcpSocketOptions {
  /** Keep our side writable after the peer's FIN (default false: end() follows, like Node). */
  allowHalfOpen?: boolean;
  /** Read into a reusable buffer (see OnRead). On a server: every accepted socket. */
  onread?: OnRead;
  /** Stream buffer high-water marks (default 16 KiB each, like net.Socket). */
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

export interface ConnectOptions extends TcpSocketOptions {
  port: number;
  /** Dotted quad (no DNS here). Default 127.0.0.1 in Node; here required to be an IPv4 literal. */
  host?: string;
  localAddress?: string;
  localPort?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Socket timeout in ms (see setTimeout). */
  timeout?: number;
}

export interface ServerOptions extends TcpSocketOptions {
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Accepted sockets start paused (Node pauseOnConnect). */
  pauseOnConnect?: boolean;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

/** Largest chunk pulled from TCP into the stream at once. */
const READ_CHUNK = 64 * 1024;

function netError(code: ErrnoName, syscall: string, address?: string, port?: number): StackError {
  const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const e = new StackError(code, strerror(code)) as StackError & { syscall: string; address?: string; port?: number };
  e.message = `${syscall} ${code}${where}`;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

function localOf(ctx: NetContext): number {
  const a = typeof ctx.localAddr === 'string' ? parseIp(ctx.localAddr) : ctx.localAddr >>> 0;
  if (a === undefined) throw new StackError('EINVAL', `bad localAddr ${String(ctx.localAddr)}`);
  return a;
}

type WriteCallback = (error?: Error | null) => void;

const NO_CHUNKS: readonly Uint8Array[] = Object.freeze([]);
const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * The TcpConnectionHandler of one TcpSocket: a single small object with its methods on the
 * prototype (not five closures per socket: memory per connection).
 */
class SocketEvents implements TcpConnectionHandler {
  private readonly s: TcpSocket;
  constructor(s: TcpSocket) {
    this.s = s;
  }
  connected(): void {
    this.s.onTcpConnected();
  }
  readable(): void {
    this.s.onTcpReadable();
  }
  writable(): void {
    this.s.onTcpWritable();
  }
  error(code: ErrnoName): void {
    this.s.onTcpError(code);
  }
  closed(): void {
    this.s.onTcpReadable();
  }
}

/** A TCP connection as a Node Duplex stream (the counterpart of net.Socket). */
export class TcpSocket extends Duplex {
  private readonly ctx: NetContext;
  private conn: TcpConnection | undefined = undefined;
  private reading = false;
  private eofPushed = false;
  /** onread mode (see OnRead), or undefined for the stream's own reads. */
  private onread: OnRead | undefined = undefined;
  /** Chunks handed to _write/_writev that the TCP send buffer has not fully taken yet. */
  private pendingChunks: readonly Uint8Array[] = NO_CHUNKS;
  /** The chunk being handed over, and how much of it TCP took. */
  private pendingIdx = 0;
  private pendingOff = 0;
  private pendingCb: WriteCallback | undefined = undefined;
  private finalCb: WriteCallback | undefined = undefined;
  /** Options for the connection (replaced, never mutated: may be shared). */
  private tcpOpts: TcpOptions = NO_OPTIONS;
  private timeoutMs = 0;
  private idleTimer: Timer | undefined = undefined;
  private lastActivity = 0;
  /** True from connect() until the handshake completes. */
  connecting = false;
  bytesRead = 0;
  private written = 0;
  /** The connect() target, for the names before the connection exists. */
  private targetHost: string | undefined = undefined;
  private targetPort: number | undefined = undefined;

  private readonly handler: TcpConnectionHandler = new SocketEvents(this);
  /** The server that accepted this socket, told once when it is destroyed (like net.Socket._server). */
  private server: Server | undefined = undefined;

  constructor(ctx: NetContext, opts: TcpSocketOptions = {}) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      readableHighWaterMark: opts.readableHighWaterMark ?? 16 * 1024,
      writableHighWaterMark: opts.writableHighWaterMark ?? 16 * 1024,
      decodeStrings: true,
    });
    this.ctx = ctx;
    if (opts.onread !== undefined) this.setOnRead(opts.onread);
  }

  /**
   * Switch to (or, with undefined, back from) onread mode (see OnRead) — also on a socket a
   * server accepted, whose reads Node's `onread` cannot reach. Data already in the stream's
   * buffer still comes as 'data'. The socket starts flowing if nothing paused it.
   */
  setOnRead(o: OnRead | undefined): this {
    this.onread = o;
    if (o !== undefined) {
      if (this.readableFlowing === null) this.resume();
      process.nextTick(() => this.onTcpReadable());
    }
    return this;
  }

  // Names come from the connection when it exists (getters, like net.Socket's): nothing per socket.
  get remoteAddress(): string | undefined {
    return this.conn !== undefined ? ipToString(this.conn.remoteAddr) : this.targetHost;
  }
  get remotePort(): number | undefined {
    return this.conn !== undefined ? this.conn.remotePort : this.targetPort;
  }
  get remoteFamily(): 'IPv4' {
    return 'IPv4';
  }
  get localAddress(): string | undefined {
    return this.conn !== undefined ? ipToString(this.conn.localAddr) : undefined;
  }
  get localPort(): number | undefined {
    return this.conn?.localPort;
  }

  /** @internal (SocketEvents) Data, EOF or CLOSED: pull what the stream (or onread) wants. */
  onTcpReadable(): void {
    if (this.onread !== undefined) {
      if (!this.isPaused() && !this.connecting) this.pull();
    } else if (this.reading) {
      this.pull();
    } else if (this.readableFlowing === true && !this.connecting && !this.destroyed && this.readableLength === 0) {
      // Flowing, but the stream has not asked yet: resume() (on('data')) starts the flow on
      // the next tick, typically for a socket accepted in the same receive batch as its first
      // data. Start it now, inside this callback, so 'data' handlers run here too: what they
      // write (and end()) then leaves in one segment once the callback returns (reply + FIN
      // together, Connection.write), instead of the reply alone and the FIN after it.
      this.read();
    }
  }

  /** @internal (SocketEvents) Send-buffer space: hand over pending chunks. */
  onTcpWritable(): void {
    this.flushPending();
  }

  /** @internal (SocketEvents) The connection failed. */
  onTcpError(code: ErrnoName): void {
    if (this.destroyed) return;
    const syscall = this.connecting ? 'connect' : 'read';
    this.destroy(netError(code, syscall, this.connecting ? this.remoteAddress : undefined, this.connecting ? this.remotePort : undefined));
  }

  /** Bytes handed to TCP so far (net.Socket bytesWritten also counts what is still queued in the stream). */
  get bytesWritten(): number {
    return this.written;
  }

  get pendingConnection(): boolean {
    return this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.conn === undefined || this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** @internal Wrap an established connection (from a server's accept queue). */
  attach(conn: TcpConnection, server?: Server): this {
    this.conn = conn;
    this.server = server;
    conn.setHandler(this.handler);
    return this;
  }

  /** @internal Start an active open. */
  startConnect(o: ConnectOptions): this {
    const remote = o.host === undefined ? undefined : parseIp(o.host);
    this.targetHost = o.host;
    this.targetPort = o.port;
    this.connecting = true;
    if (o.noDelay !== undefined) this.tcpOpts = { ...this.tcpOpts, noDelay: o.noDelay };
    if (o.keepAlive === true) this.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
    if (o.timeout !== undefined) this.setTimeout(o.timeout);
    if (remote === undefined || !Number.isInteger(o.port) || o.port <= 0 || o.port > 0xffff) {
      process.nextTick(() => this.destroy(netError('EINVAL', 'connect', o.host, o.port)));
      return this;
    }
    const local = o.localAddress === undefined ? localOf(this.ctx) : (parseIp(o.localAddress) ?? 0);
    const r = this.ctx.tcp.connect(local, o.localPort ?? 0, remote, o.port, this.handler, this.tcpOpts);
    if (typeof r === 'string') {
      process.nextTick(() => this.destroy(netError(r, 'connect', o.host, o.port)));
      return this;
    }
    this.conn = r;
    return this;
  }

  /** @internal (SocketEvents) The handshake completed. */
  onTcpConnected(): void {
    if (this.destroyed || this.conn === undefined) return;
    this.connecting = false;
    this.touch();
    this.emit('connect');
    this.emit('ready');
    this.flushPending();
    if (this.finalCb !== undefined && this.pendingIdx === this.pendingChunks.length) this.doFinal();
    if (this.reading) this.pull();
  }

  address(): AddressInfo | Record<string, never> {
    const conn = this.conn;
    if (conn === undefined) return {};
    return { address: ipToString(conn.localAddr), family: 'IPv4', port: conn.localPort };
  }

  // ---- reading ---------------------------------------------------------------------------

  override _read(): void {
    this.reading = true;
    if (!this.connecting) this.pull();
  }

  /** Move bytes from the TCP receive buffer into the stream while it wants more. */
  private pull(): void {
    const conn = this.conn;
    if (conn === undefined || this.eofPushed) return;
    if (this.onread !== undefined) {
      this.pullInto(conn, this.onread);
      return;
    }
    while (this.reading) {
      const n = conn.readableLength;
      if (n > 0) {
        const buf = Buffer.allocUnsafe(Math.min(n, READ_CHUNK));
        const got = conn.read(buf);
        if (got <= 0) break;
        this.bytesRead += got;
        this.touch();
        this.reading = this.push(got === buf.length ? buf : buf.subarray(0, got));
        continue;
      }
      if (conn.eof || conn.state === 'CLOSED') this.pushEof();
      break;
    }
  }

  /** The peer's FIN (or the end of the connection) reached the reader: end the readable side. */
  private pushEof(): void {
    this.eofPushed = true;
    this.reading = false;
    this.push(null);
  }

  /** onread mode reads outside the stream machinery: resuming must start a read itself. */
  override resume(): this {
    super.resume();
    if (this.onread !== undefined) process.nextTick(() => this.onTcpReadable());
    return this;
  }

  /** onread mode: read into the caller's buffer and call back, until empty, paused or EOF. */
  private pullInto(conn: TcpConnection, o: OnRead): void {
    while (!this.isPaused() && this.onread === o) {
      if (conn.readableLength > 0) {
        const buf = typeof o.buffer === 'function' ? o.buffer() : o.buffer;
        const got = conn.read(buf);
        if (got <= 0) break;
        this.bytesRead += got;
        this.touch();
        if (o.callback(got, buf) === false) this.pause();
        continue;
      }
      if (conn.eof || conn.state === 'CLOSED') this.pushEof();
      break;
    }
  }

  // ---- writing ---------------------------------------------------------------------------

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: WriteCallback): void {
    this.pendingChunks = [chunk];
    this.pendingIdx = 0;
    this.pendingOff = 0;
    this.pendingCb = cb;
    if (!this.connecting) this.flushPending();
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: WriteCallback): void {
    this.pendingChunks = chunks.map((c) => c.chunk);
    this.pendingIdx = 0;
    this.pendingOff = 0;
    this.pendingCb = cb;
    if (!this.connecting) this.flushPending();
  }

  /** Hand pending chunks to the TCP send buffer; complete the write when all are taken. */
  private flushPending(): void {
    const conn = this.conn;
    const cb = this.pendingCb;
    if (conn === undefined || cb === undefined || this.connecting) return;
    while (this.pendingIdx < this.pendingChunks.length) {
      const chunk = this.pendingChunks[this.pendingIdx]!;
      const n = conn.write(this.pendingOff === 0 ? chunk : chunk.subarray(this.pendingOff));
      if (n < 0) {
        this.pendingChunks = NO_CHUNKS;
        this.pendingIdx = 0;
        this.pendingCb = undefined;
        cb(netError('EPIPE', 'write'));
        return;
      }
      this.written += n;
      if (n > 0) this.touch();
      this.pendingOff += n;
      if (this.pendingOff < chunk.length) return; // the send buffer is full: wait for writable()
      this.pendingIdx++;
      this.pendingOff = 0;
    }
    this.pendingChunks = NO_CHUNKS;
    this.pendingIdx = 0;
    this.pendingCb = undefined;
    cb();
  }

  override _final(cb: WriteCallback): void {
    this.finalCb = cb;
    if (!this.connecting) this.doFinal();
  }

  private doFinal(): void {
    const cb = this.finalCb;
    if (cb === undefined) return;
    this.finalCb = undefined;
    // Half-close: FIN goes out after everything queued (RFC 9293 3.10.4 CLOSE, "queue it").
    this.conn?.shutdown('wr');
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.idleTimer?.cancel();
    const conn = this.conn;
    if (conn !== undefined && conn.state !== 'CLOSED') conn.close();
    this.pendingCb = undefined;
    const server = this.server;
    this.server = undefined;
    server?.socketDestroyed();
    cb(err);
  }

  /** Close with RST instead of FIN (net.Socket.resetAndDestroy). */
  resetAndDestroy(): this {
    this.conn?.abort();
    this.destroy();
    return this;
  }

  // ---- options -----------------------------------------------------------------------------

  setNoDelay(noDelay = true): this {
    this.applyOptions({ noDelay });
    return this;
  }

  /** initialDelay in ms, like Node; TCP_KEEPIDLE is whole seconds (at least 1). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const o: TcpOptions = { keepAlive: enable };
    if (enable && initialDelay > 0) o.keepIdle = Math.max(1, Math.ceil(initialDelay / 1000));
    this.applyOptions(o);
    return this;
  }

  /** Options go to the connection; kept here only until it exists (connect() passes them on). */
  private applyOptions(o: TcpOptions): void {
    if (this.conn !== undefined) this.conn.setOptions(o);
    else this.tcpOpts = { ...this.tcpOpts, ...o };
  }

  /** Emit 'timeout' after `ms` of inactivity (0 disables), on the stack's clock. Does not close the socket. */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeoutMs = ms;
    if (cb !== undefined) this.once('timeout', cb);
    if (ms <= 0) {
      this.idleTimer?.cancel();
      return this;
    }
    this.idleTimer ??= this.ctx.clock.createTimer(() => this.onIdle());
    this.touch();
    return this;
  }

  private touch(): void {
    if (this.timeoutMs <= 0) return;
    this.lastActivity = this.ctx.clock.now();
    if (this.idleTimer?.deadline === undefined) this.idleTimer?.arm(this.lastActivity + this.timeoutMs);
  }

  private onIdle(): void {
    if (this.timeoutMs <= 0 || this.destroyed) return;
    const due = this.lastActivity + this.timeoutMs;
    if (this.ctx.clock.now() < due) {
      this.idleTimer?.arm(due);
      return;
    }
    this.emit('timeout');
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

/** A listening TCP server (the counterpart of net.Server). */
export class Server extends EventEmitter {
  private readonly ctx: NetContext;
  private readonly opts: ServerOptions;
  private listener: TcpListener | undefined = undefined;
  /**
   * Accepted sockets not yet destroyed. A count, told by the socket's _destroy() as Node's
   * net.Server does (_connections): no set entry and no 'close' listener per socket.
   */
  private connections = 0;
  private addr: AddressInfo | undefined = undefined;
  private closing = false;

  constructor(ctx: NetContext, opts: ServerOptions = {}, connectionListener?: (socket: TcpSocket) => void) {
    super();
    this.ctx = ctx;
    this.opts = opts;
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** listen(port, [host], [backlog], [cb]) or listen({ port, host, backlog }, [cb]). Port 0 picks an ephemeral port. */
  listen(portOrOpts?: number | ListenOptions | (() => void), ...rest: unknown[]): this {
    if (typeof portOrOpts === 'function') {
      rest.push(portOrOpts);
      portOrOpts = 0;
    }
    const cb = typeof rest[rest.length - 1] === 'function' ? (rest.pop() as () => void) : undefined;
    const o: ListenOptions =
      typeof portOrOpts === 'object' ? portOrOpts : { port: portOrOpts ?? 0, host: rest[0] as string | undefined, backlog: rest[1] as number | undefined };
    if (cb !== undefined) this.once('listening', cb);
    const port = o.port ?? 0;
    const host = o.host ?? '0.0.0.0';
    const addr = parseIp(host);
    const fail = (code: ErrnoName): this => {
      process.nextTick(() => this.emit('error', netError(code, 'listen', host, port)));
      return this;
    };
    if (this.listener !== undefined) return fail('EINVAL');
    if (addr === undefined || !Number.isInteger(port) || port < 0 || port > 0xffff) return fail('EINVAL');
    // Node sets SO_REUSEADDR on listening sockets.
    const b = this.ctx.tcp.bind(addr, port, true);
    if (typeof b === 'string') return fail(b);
    const tcpOpts: TcpOptions = {};
    if (this.opts.noDelay !== undefined) tcpOpts.noDelay = this.opts.noDelay;
    if (this.opts.keepAlive === true) {
      tcpOpts.keepAlive = true;
      if ((this.opts.keepAliveInitialDelay ?? 0) > 0) tcpOpts.keepIdle = Math.max(1, Math.ceil(this.opts.keepAliveInitialDelay! / 1000));
    }
    const l = this.ctx.tcp.listen(addr, b.port, o.backlog ?? 511, tcpOpts);
    if (typeof l === 'string') {
      this.ctx.tcp.unbind(addr, b.port);
      return fail(l);
    }
    this.listener = l;
    this.closing = false;
    this.addr = { address: host, family: 'IPv4', port: b.port };
    l.setHandler({ acceptable: () => this.acceptAll() });
    process.nextTick(() => {
      this.emit('listening');
      this.acceptAll();
    });
    return this;
  }

  private acceptAll(): void {
    const l = this.listener;
    if (l === undefined) return;
    for (let c = l.accept(); c !== undefined; c = l.accept()) {
      const s = new TcpSocket(this.ctx, this.opts).attach(c, this);
      this.connections++;
      if (this.opts.pauseOnConnect === true) s.pause();
      this.emit('connection', s);
    }
  }

  address(): AddressInfo | null {
    return this.addr ?? null;
  }

  /** Stop accepting; 'close' is emitted once every accepted socket has closed too. */
  close(cb?: (err?: Error) => void): this {
    if (this.listener === undefined) {
      if (cb !== undefined) {
        const e = Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' });
        process.nextTick(() => cb(e));
      }
      return this;
    }
    if (cb !== undefined) this.once('close', cb);
    this.listener.close();
    this.listener = undefined;
    this.closing = true;
    process.nextTick(() => this.maybeClosed());
    return this;
  }

  /** @internal (TcpSocket._destroy) One accepted socket is gone. */
  socketDestroyed(): void {
    this.connections--;
    // The server's 'close' comes on a later tick (Node: _emitCloseIfDrained -> emitCloseNT).
    if (this.closing && this.connections === 0) process.nextTick(() => this.maybeClosed());
  }

  private maybeClosed(): void {
    if (!this.closing || this.connections > 0) return;
    this.closing = false;
    this.addr = undefined;
    this.emit('close');
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.connections;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

/** `net` bound to one stack: createServer / connect / createConnection. */
export class Net {
  readonly ctx: NetContext;

  constructor(ctx: NetContext) {
    this.ctx = ctx;
  }

  createServer(opts?: ServerOptions | ((s: TcpSocket) => void), listener?: (s: TcpSocket) => void): Server {
    if (typeof opts === 'function') return new Server(this.ctx, {}, opts);
    return new Server(this.ctx, opts ?? {}, listener);
  }

  /** connect({ port, host }, [cb]) or connect(port, [host], [cb]); cb runs on 'connect'. */
  connect(opts: ConnectOptions | number, hostOrCb?: string | (() => void), cb?: () => void): TcpSocket {
    let o: ConnectOptions;
    if (typeof opts === 'number') {
      o = { port: opts, ...(typeof hostOrCb === 'string' ? { host: hostOrCb } : {}) };
      if (typeof hostOrCb === 'function') cb = hostOrCb;
    } else {
      o = opts;
      if (typeof hostOrCb === 'function') cb = hostOrCb;
    }
    const s = new TcpSocket(this.ctx, o);
    if (cb !== undefined) s.once('connect', cb);
    return s.startConnect({ host: '127.0.0.1', ...o });
  }

  createConnection(opts: ConnectOptions | number, hostOrCb?: string | (() => void), cb?: () => void): TcpSocket {
    return this.connect(opts, hostOrCb, cb);
  }
}

export function createNet(ctx: NetContext): Net {
  return new Net(ctx);
}
