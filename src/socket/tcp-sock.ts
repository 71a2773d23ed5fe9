/**
 * A SOCK_STREAM socket over the TcpService contract (src/tcp/api.ts). It follows Linux
 * net/ipv4/af_inet.c and tcp.c for which errno each call returns in which state; the
 * TCP machine itself lives below and is only driven through TcpConnection/TcpListener.
 *
 *   idle --bind--> bound --listen--> listening --accept--> (new connected socket)
 *     \--------------connect--------> connecting --SYN-ACK--> connected
 *                                          \--RST/timeout--> idle (error returned)
 */
import type { ErrnoName } from '../core/errno.js';
import type { TcpConnection, TcpConnectionHandler, TcpListener, TcpOptions } from '../tcp/api.js';
import {
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_WAITALL,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_WR,
  SOCK_STREAM,
  type Linger,
} from './constants.js';
import { sockError } from './errno.js';
import { Sock, type SockEnv } from './sock.js';

export type TcpPhase = 'idle' | 'bound' | 'listening' | 'connecting' | 'connected';

/** Linux somaxconn: listen() clamps the backlog to it. */
const SOMAXCONN = 4096;
/** Defaults shared by every socket until an option is set (options.ts replaces, never mutates them). */
const NO_LINGER: Linger = Object.freeze({ l_onoff: 0, l_linger: 0 });
const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * The TcpConnectionHandler of one TcpSock: a single small object whose methods live on the
 * prototype (not five closures per socket: memory per connection).
 */
class SockEvents implements TcpConnectionHandler {
  private readonly s: TcpSock;
  constructor(s: TcpSock) {
    this.s = s;
  }
  connected(): void {
    this.s.onConnected();
  }
  readable(): void {
    this.s.wake();
  }
  writable(): void {
    this.s.wake();
  }
  error(code: ErrnoName): void {
    this.s.onError(code);
  }
  closed(): void {
    this.s.onClosed();
  }
}

export class TcpSock extends Sock {
  readonly type = SOCK_STREAM;
  phase: TcpPhase = 'idle';
  /** Address/port from bind() (or autobind); kept for a new connect() after a failed one. */
  bindAddr = 0;
  bindPort = 0;
  /** We hold a tcp.bind() reservation not yet handed to a listener or connection. */
  private reserved = false;
  listener: TcpListener | undefined = undefined;
  conn: TcpConnection | undefined = undefined;
  /** connected() was called: the three-way handshake completed. */
  private established = false;
  /** closed() was called: the connection reached CLOSED. */
  private connClosed = false;
  /** Pending error (SO_ERROR), set by the connection's error() callback. */
  private soError: ErrnoName | undefined = undefined;
  /** SO_LINGER (replaced, never mutated: it may be shared). */
  linger: Linger = NO_LINGER;
  /** Options to apply to the connection once it exists (inherited by accepted sockets; replaced, never mutated). */
  tcpOpts: TcpOptions = NO_OPTIONS;

  private readonly handler: TcpConnectionHandler = new SockEvents(this);

  constructor(env: SockEnv) {
    super(env);
  }

  /** @internal (SockEvents) The handshake completed. */
  onConnected(): void {
    this.established = true;
    if (this.phase === 'connecting') this.phase = 'connected';
    this.wake();
  }

  /** @internal (SockEvents) The connection failed. */
  onError(code: ErrnoName): void {
    this.soError = code;
    this.wake();
  }

  /** @internal (SockEvents) The connection reached CLOSED. */
  onClosed(): void {
    this.connClosed = true;
    this.wake();
  }

  /** A socket for a connection taken from a listener's accept queue. */
  static accepted(env: SockEnv, conn: TcpConnection, parent: TcpSock): TcpSock {
    const s = new TcpSock(env);
    s.conn = conn;
    s.phase = 'connected';
    s.established = true;
    s.connClosed = conn.state === 'CLOSED';
    // Linux: an accepted socket inherits the listener's options (not O_NONBLOCK). Shared:
    // setsockopt replaces these objects rather than changing them.
    s.tcpOpts = parent.tcpOpts;
    s.linger = parent.linger;
    s.reuseAddr = parent.reuseAddr;
    s.rcvTimeoMs = parent.rcvTimeoMs;
    s.sndTimeoMs = parent.sndTimeoMs;
    conn.setHandler(s.handler);
    // Options set on the listener after listen() reach connections as they are accepted.
    if (Object.keys(s.tcpOpts).length > 0) conn.setOptions(s.tcpOpts);
    return s;
  }

  private get service() {
    const tcp = this.env.tcp;
    if (tcp === undefined) throw sockError('EPROTONOSUPPORT', 'socket', 'this stack has no TCP layer');
    return tcp;
  }

  /** Pending error, cleared by reading it (SO_ERROR, and the next call that reports it). */
  takeError(): ErrnoName | undefined {
    const mine = this.soError;
    this.soError = undefined;
    const theirs = this.conn?.takeError();
    return mine ?? theirs;
  }

  get hasError(): boolean {
    return this.soError !== undefined;
  }

  // ---- setup -------------------------------------------------------------------------

  bind(addr: number, port: number, call: string): void {
    if (this.phase !== 'idle' || this.bindPort !== 0) {
      throw sockError('EINVAL', call, 'the socket is already bound; a socket binds once');
    }
    const r = this.service.bind(addr, port, this.reuseAddr);
    if (typeof r === 'string') {
      throw sockError(
        r,
        call,
        r === 'EADDRINUSE' ? 'another socket holds the port; SO_REUSEADDR helps only against TIME-WAIT' : undefined,
      );
    }
    this.bindAddr = addr;
    this.bindPort = r.port;
    this.reserved = true;
    this.phase = 'bound';
  }

  listen(backlog: number, call: string): void {
    if (this.phase === 'listening') return; // Linux: adjusts the backlog; we keep the first
    if (this.phase === 'connected' || this.phase === 'connecting') {
      throw sockError('EINVAL', call, 'the socket is connected; listen on a fresh socket');
    }
    if (this.bindPort === 0) this.bind(0, 0, call); // Linux autobinds an ephemeral port
    const b = Math.min(Math.max(Math.trunc(backlog) || 0, 0), SOMAXCONN);
    const r = this.service.listen(this.bindAddr, this.bindPort, b, this.tcpOpts);
    if (typeof r === 'string') throw sockError(r, call);
    this.listener = r;
    this.reserved = false;
    this.phase = 'listening';
    r.setHandler({ acceptable: () => this.wake() });
  }

  async accept(call: string): Promise<TcpSock> {
    const deadline = this.deadline(false);
    for (;;) {
      this.checkOpen(call);
      if (this.phase !== 'listening' || this.listener === undefined) {
        throw sockError('EINVAL', call, 'the socket is not listening; call listen() first');
      }
      const c = this.listener.accept();
      if (c !== undefined) return TcpSock.accepted(this.env, c, this);
      if (this.nonblock) throw sockError('EAGAIN', call, 'no connection is waiting; poll for POLLIN');
      if (!(await this.sleep(deadline))) throw sockError('EAGAIN', call, 'SO_RCVTIMEO expired');
    }
  }

  async connect(addr: number, port: number, call: string): Promise<void> {
    this.checkOpen(call);
    switch (this.phase) {
      case 'listening':
      case 'connected':
        throw sockError('EISCONN', call);
      case 'connecting':
        if (this.failed) return this.connectFailed(call);
        if (this.nonblock) throw sockError('EALREADY', call, 'a connect is in progress; poll for POLLOUT');
        return this.waitConnected(call);
      default:
        break;
    }
    if (port <= 0 || port > 0xffff) throw sockError('EINVAL', call, `port ${port} is not 1..65535`);
    // INADDR_ANY (0) lets TCP pick the source address (RFC 9293 MUST-44/45).
    const r = this.service.connect(this.bindAddr, this.bindPort, addr, port, this.handler, this.tcpOpts);
    if (typeof r === 'string') throw sockError(r, call);
    this.conn = r;
    this.reserved = false;
    this.established = false;
    this.connClosed = false;
    this.soError = undefined;
    this.phase = 'connecting';
    if (this.nonblock) throw sockError('EINPROGRESS', call, 'poll for POLLOUT, then read SO_ERROR');
    return this.waitConnected(call);
  }

  private get failed(): boolean {
    return this.soError !== undefined || this.connClosed;
  }

  private async waitConnected(call: string): Promise<void> {
    const deadline = this.deadline(true);
    for (;;) {
      this.checkOpen(call);
      if (this.phase !== 'connecting') {
        if (this.phase === 'connected') return;
        throw sockError('ECONNABORTED', call, 'the connect was abandoned (shutdown)');
      }
      if (this.established) {
        this.phase = 'connected';
        return;
      }
      if (this.failed) return this.connectFailed(call);
      if (!(await this.sleep(deadline))) throw sockError('EINPROGRESS', call, 'SO_SNDTIMEO expired');
    }
  }

  /** Linux __inet_stream_connect "sock_error": report the error; the socket may connect again. */
  private connectFailed(call: string): never {
    const err = this.takeError() ?? 'ECONNABORTED';
    this.conn = undefined;
    this.phase = 'idle';
    const hint =
      err === 'ECONNREFUSED'
        ? 'nothing listens on that port: the peer answered with RST'
        : err === 'ETIMEDOUT'
          ? 'no answer to SYN after all retransmissions'
          : err === 'EHOSTUNREACH'
            ? 'ARP got no answer for the next hop'
            : undefined;
    throw sockError(err, call, hint);
  }

  // ---- data --------------------------------------------------------------------------

  async read(buf: Uint8Array, flags: number, call: string): Promise<number> {
    if ((flags & MSG_PEEK) !== 0) throw sockError('EOPNOTSUPP', call, 'MSG_PEEK is not supported on TCP sockets');
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    const waitAll = (flags & MSG_WAITALL) !== 0 && !nonblock;
    const deadline = this.deadline(false);
    let got = 0;
    for (;;) {
      this.checkOpen(call);
      if (this.phase === 'connected') {
        const conn = this.conn!;
        if (conn.readableLength > 0 && got < buf.length) {
          got += conn.read(got === 0 ? buf : buf.subarray(got));
          if (!waitAll || got === buf.length) return got;
          continue;
        }
        if (buf.length === 0) return 0;
        // Linux tcp_recvmsg: data first, then a pending error, then EOF.
        const err = this.takeError();
        if (err !== undefined) {
          if (got > 0) {
            this.soError = err;
            return got;
          }
          throw sockError(err, call);
        }
        if (this.shutRd || conn.eof || this.connClosed || conn.state === 'CLOSED') return got;
      } else if (this.phase !== 'connecting') {
        throw sockError('ENOTCONN', call, this.phase === 'listening' ? 'a listening socket: accept() first' : 'connect() first');
      } else if (this.failed) {
        return this.connectFailed(call);
      }
      if (nonblock) throw sockError('EAGAIN', call, 'no data yet; poll for POLLIN');
      if (!(await this.sleep(deadline))) {
        if (got > 0) return got;
        throw sockError('EAGAIN', call, 'SO_RCVTIMEO expired');
      }
    }
  }

  /**
   * Blocking: returns only when every byte is queued in the send buffer (or an error
   * comes after some were, then the count so far). Non-blocking: queues what fits and
   * returns the count, EAGAIN when nothing fits.
   */
  async write(buf: Uint8Array, flags: number, call: string): Promise<number> {
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    const deadline = this.deadline(true);
    let off = 0;
    for (;;) {
      this.checkOpen(call);
      if (this.phase === 'connecting') {
        // Linux sk_stream_wait_connect: a write on a connecting socket waits for the handshake.
        if (this.failed) return this.connectFailed(call);
        if (nonblock) throw sockError('EAGAIN', call, 'the connection is not established yet');
      } else if (this.phase !== 'connected') {
        // Linux returns EPIPE (not ENOTCONN) for a write on an unconnected stream socket.
        throw sockError('EPIPE', call, 'the socket is not connected');
      } else {
        const err = this.takeError();
        if (err !== undefined) {
          if (off > 0) {
            this.soError = err;
            return off;
          }
          throw sockError(err, call);
        }
        if (this.shutWr) {
          if (off > 0) return off;
          throw sockError('EPIPE', call, 'shutdown(SHUT_WR) was called on this socket');
        }
        const n = off === buf.length ? 0 : this.conn!.write(off === 0 ? buf : buf.subarray(off));
        if (n < 0) {
          if (off > 0) return off;
          throw sockError('EPIPE', call, 'the connection is closed for sending');
        }
        off += n;
        if (off === buf.length) return off;
        if (nonblock) {
          if (off > 0) return off;
          throw sockError('EAGAIN', call, 'the send buffer is full; poll for POLLOUT');
        }
      }
      if (!(await this.sleep(deadline))) {
        if (off > 0) return off;
        throw sockError('EAGAIN', call, 'SO_SNDTIMEO expired');
      }
    }
  }

  // ---- teardown ------------------------------------------------------------------------

  shutdown(how: number, call: string): void {
    const rd = how !== SHUT_WR;
    const wr = how !== SHUT_RD;
    if (this.phase === 'listening') {
      // Linux inet_shutdown: SHUT_RD on a listener stops it; blocked accept() gets EINVAL.
      if (rd) {
        this.listener?.close();
        this.listener = undefined;
        this.phase = 'idle';
        this.wake();
      }
      return;
    }
    if (this.phase === 'connecting') {
      this.conn?.abort();
      this.conn = undefined;
      this.phase = 'idle';
      this.wake();
      return;
    }
    const newRd = rd && !this.shutRd;
    const newWr = wr && !this.shutWr;
    this.shutRd ||= rd;
    this.shutWr ||= wr;
    this.wake();
    if (this.phase !== 'connected') throw sockError('ENOTCONN', call);
    if (newRd || newWr) this.conn!.shutdown(newRd && newWr ? 'rdwr' : newRd ? 'rd' : 'wr');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.listener !== undefined) this.listener.close();
    if (this.conn !== undefined) {
      // SO_LINGER {on, 0}: abortive close with RST (RFC 9293 3.10.7.4 ABORT); otherwise
      // queued data is sent, then FIN.
      if (this.linger.l_onoff !== 0 && this.linger.l_linger === 0) this.conn.abort();
      else this.conn.close();
    }
    if (this.reserved) this.env.tcp?.unbind(this.bindAddr, this.bindPort);
    this.reserved = false;
    this.listener = undefined;
    this.wake();
  }

  // ---- inspection ----------------------------------------------------------------------

  localName(): { addr: number; port: number } {
    if (this.conn !== undefined) return { addr: this.conn.localAddr, port: this.conn.localPort };
    return { addr: this.bindAddr, port: this.bindPort };
  }

  peerName(call: string): { addr: number; port: number } {
    if (this.phase !== 'connected' || this.conn === undefined) throw sockError('ENOTCONN', call);
    return { addr: this.conn.remoteAddr, port: this.conn.remotePort };
  }

  /** Linux tcp_poll. */
  pollMask(): number {
    if (this.phase === 'listening') {
      return (this.listener?.pendingCount ?? 0) > 0 ? POLLIN : 0;
    }
    let mask = 0;
    if (this.hasError) mask |= POLLERR;
    // A failed connect leaves the socket CLOSED: Linux reports POLLOUT|POLLHUP with the error.
    if (this.phase === 'connecting') return this.failed ? mask | POLLOUT | POLLHUP : mask;
    const conn = this.phase === 'connected' ? this.conn : undefined;
    // A connection that reached CLOSED (reset, or both FINs done) is shut both ways (Linux tcp_done).
    const over = conn !== undefined && (this.connClosed || conn.state === 'CLOSED');
    const rdShut = this.shutRd || over || (conn !== undefined && conn.eof);
    const wrShut = this.shutWr || over;
    if ((rdShut && wrShut) || conn === undefined) mask |= POLLHUP;
    if (rdShut) mask |= POLLIN | POLLRDHUP;
    if (conn !== undefined && conn.readableLength > 0) mask |= POLLIN;
    if (wrShut || conn === undefined || conn.writableLength > 0) mask |= POLLOUT;
    return mask;
  }
}
