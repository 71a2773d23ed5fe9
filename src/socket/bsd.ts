/**
 * The BSD socket API over one stack instance. Calls take and return small-integer
 * descriptors from 3 up, like C; calls that block in C return Promises here (accept,
 * connect, read/recv/recvfrom, write/send/sendto, poll, select); failures throw a
 * StackError whose `code` is the errno name (EADDRINUSE, ECONNREFUSED...).
 *
 *   const sys = new SocketApi({ tcp: stack.tcp, udp: stack.udp, localAddr, clock });
 *   const serv_sock = sys.socket(PF_INET, SOCK_STREAM, 0);
 *   sys.bind(serv_sock, { addr: INADDR_ANY, port: 9190 });
 *   sys.listen(serv_sock, 5);
 *   const clnt_sock = await sys.accept(serv_sock);
 *   const str_len = await sys.read(clnt_sock, message, BUF_SIZE);
 *
 * Addresses are host-order numbers (10.77.0.2 = 0x0a4d0002) or dotted strings on
 * input; there is no htonl/htons: `{ addr: INADDR_ANY, port: 9190 }`.
 * Every timer runs on the stack's Clock, so the API works on virtual time too.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { ipToString, parseIp } from '../ip/types.js';
import type { TcpConnection, TcpService, TcpStateName } from '../tcp/api.js';
import type { UdpLayer } from '../udp/udp.js';
import {
  AF_INET,
  AF_UNSPEC,
  F_GETFL,
  F_SETFL,
  INADDR_NONE,
  IPPROTO_TCP,
  IPPROTO_UDP,
  O_NONBLOCK,
  O_RDWR,
  SHUT_RD,
  SHUT_RDWR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from './constants.js';
import { sockError } from './errno.js';
import { getSockOpt, setSockOpt, type SockOptResult, type SockOptValue } from './options.js';
import { FdSet, pollSockets, SELECT_EXCEPT, SELECT_READ, SELECT_WRITE, type PollFd } from './poll.js';
import { sleepOn, type Sock, type SockEnv } from './sock.js';
import { TcpSock } from './tcp-sock.js';
import { UdpSock } from './udp-sock.js';

/** struct sockaddr_in, as input: addr is a host-order number or a dotted quad. */
export interface SockAddrIn {
  family?: number;
  addr: number | string;
  port: number;
}

/** struct sockaddr_in, as filled in by accept/recvfrom/getsockname/getpeername. */
export interface SockAddr {
  family: number;
  addr: number;
  port: number;
}

/** A zeroed sockaddr_in (memset(&adr, 0, sizeof(adr)); adr.sin_family = AF_INET). */
export function sockaddr_in(addr: number | string = 0, port = 0): SockAddr {
  return { family: AF_INET, addr: typeof addr === 'number' ? addr >>> 0 : inet_addr(addr), port };
}

/** Dotted quad to a host-order address; INADDR_NONE (0xffffffff) when malformed, like C. */
export function inet_addr(s: string): number {
  return parseIp(s.trim()) ?? INADDR_NONE;
}

/** Host-order address (or a dotted string, passed through) to a dotted quad. */
export function inet_ntoa(a: number | string): string {
  return typeof a === 'string' ? a : ipToString(a >>> 0);
}

export interface SocketApiOptions {
  tcp?: TcpService;
  udp?: UdpLayer;
  clock: Clock;
  /** Our IPv4 address (host-order number or dotted quad). */
  localAddr: number | string;
  logger?: Logger;
  /** Highest descriptor number + 1 (RLIMIT_NOFILE). Default 1024. */
  maxFds?: number;
}

type Buf = Uint8Array | string;

const FIRST_FD = 3;
/** States in which everything we sent, FIN included, has been acknowledged. */
const DELIVERED: ReadonlySet<TcpStateName> = new Set<TcpStateName>(['CLOSED', 'TIME-WAIT', 'FIN-WAIT-2']);
const DRAIN_POLL_MS = 10;
const STDIO = ['stdin', 'stdout', 'stderr'];

export class SocketApi {
  private readonly env: SockEnv;
  private readonly fds = new Map<number, Sock>();
  private readonly maxFds: number;
  private readonly encoder = new TextEncoder();
  /** Connections closed by close() that may still be sending (see drain()). */
  private readonly closing = new Set<TcpConnection>();

  constructor(opts: SocketApiOptions) {
    const local = typeof opts.localAddr === 'string' ? parseIp(opts.localAddr) : opts.localAddr >>> 0;
    if (local === undefined) throw sockError('EINVAL', 'SocketApi', `bad localAddr ${String(opts.localAddr)}`);
    this.env = { tcp: opts.tcp, udp: opts.udp, clock: opts.clock, localAddr: local, logger: opts.logger };
    this.maxFds = opts.maxFds ?? 1024;
  }

  /** Open descriptors (for tests and leak checks). */
  get openFds(): number[] {
    return [...this.fds.keys()].sort((a, b) => a - b);
  }

  // ---- creation and naming -----------------------------------------------------------

  socket(domain: number, type: number, protocol = 0): number {
    const call = `socket(${domain}, ${type}, ${protocol})`;
    if (domain !== AF_INET) throw sockError('EAFNOSUPPORT', call, 'only AF_INET/PF_INET (IPv4) is supported');
    const nonblock = (type & SOCK_NONBLOCK) !== 0;
    const base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    let s: Sock;
    if (base === SOCK_STREAM) {
      if (protocol !== 0 && protocol !== IPPROTO_TCP) throw sockError('EPROTONOSUPPORT', call, 'SOCK_STREAM is TCP (protocol 0 or IPPROTO_TCP)');
      if (this.env.tcp === undefined) throw sockError('EPROTONOSUPPORT', call, 'this stack has no TCP layer');
      s = new TcpSock(this.env);
    } else if (base === SOCK_DGRAM) {
      if (protocol !== 0 && protocol !== IPPROTO_UDP) throw sockError('EPROTONOSUPPORT', call, 'SOCK_DGRAM is UDP (protocol 0 or IPPROTO_UDP)');
      if (this.env.udp === undefined) throw sockError('EPROTONOSUPPORT', call, 'this stack has no UDP layer');
      s = new UdpSock(this.env);
    } else {
      throw sockError('EINVAL', call, 'type must be SOCK_STREAM or SOCK_DGRAM');
    }
    s.nonblock = nonblock;
    return this.install(s, call);
  }

  bind(fd: number, addr: SockAddrIn): void {
    const s = this.get(fd, 'bind');
    const a = this.addrIn(addr, `bind(fd ${fd})`);
    const call = `bind(fd ${fd}, ${ipToString(a.addr)}:${a.port})`;
    if (a.port < 0 || a.port > 0xffff) throw sockError('EINVAL', call, 'port must be 0..65535');
    if (a.addr !== 0 && a.addr !== this.env.localAddr && !(s instanceof UdpSock)) {
      throw sockError('EADDRNOTAVAIL', call, `bind to INADDR_ANY or ${ipToString(this.env.localAddr)}`);
    }
    if (s instanceof TcpSock) s.bind(a.addr, a.port, call);
    else (s as UdpSock).bind(a.addr, a.port, call);
  }

  listen(fd: number, backlog: number): void {
    const s = this.get(fd, 'listen');
    const call = `listen(fd ${fd}, ${backlog})`;
    if (!(s instanceof TcpSock)) throw sockError('EOPNOTSUPP', call, 'listen() is for SOCK_STREAM sockets');
    s.listen(backlog, call);
  }

  /** Wait for a connection; returns its descriptor and fills `addrOut` with the peer. */
  async accept(fd: number, addrOut?: SockAddrIn): Promise<number> {
    const s = this.get(fd, 'accept');
    const call = `accept(fd ${fd})`;
    if (!(s instanceof TcpSock)) throw sockError('EOPNOTSUPP', call, 'accept() is for SOCK_STREAM sockets');
    const c = await s.accept(call);
    let nfd: number;
    try {
      nfd = this.install(c, call);
    } catch (e) {
      c.close();
      throw e;
    }
    if (addrOut !== undefined) fill(addrOut, c.peerName(call));
    return nfd;
  }

  /**
   * TCP: resolves once ESTABLISHED; rejects ECONNREFUSED / ETIMEDOUT / EHOSTUNREACH;
   * non-blocking: EINPROGRESS, then poll for POLLOUT and read SO_ERROR.
   * UDP: sets the default peer (family AF_UNSPEC dissolves it).
   */
  async connect(fd: number, addr: SockAddrIn): Promise<void> {
    const s = this.get(fd, 'connect');
    if (s instanceof UdpSock && addr.family === AF_UNSPEC) return s.connect(0, 0, true, `connect(fd ${fd}, AF_UNSPEC)`);
    const a = this.addrIn(addr, `connect(fd ${fd})`);
    const call = `connect(fd ${fd}, ${ipToString(a.addr)}:${a.port})`;
    if (s instanceof TcpSock) return s.connect(a.addr, a.port, call);
    (s as UdpSock).connect(a.addr, a.port, false, call);
  }

  // ---- data ----------------------------------------------------------------------------

  /** read(fd, buf, len): up to len bytes into buf; 0 at end of stream (peer FIN). */
  read(fd: number, buf: Uint8Array, len?: number): Promise<number> {
    return this.recvImpl(fd, buf, len, 0, undefined, 'read');
  }

  recv(fd: number, buf: Uint8Array, len?: number, flags = 0): Promise<number> {
    return this.recvImpl(fd, buf, len, flags, undefined, 'recv');
  }

  /** Like recv; for UDP fills `addrOut` with the datagram's source. */
  recvfrom(fd: number, buf: Uint8Array, len?: number, flags = 0, addrOut?: SockAddrIn): Promise<number> {
    return this.recvImpl(fd, buf, len, flags, addrOut, 'recvfrom');
  }

  /** write(fd, buf, len): blocking sockets return once every byte is queued. Strings are sent as UTF-8. */
  write(fd: number, buf: Buf, len?: number): Promise<number> {
    return this.sendImpl(fd, buf, len, 0, undefined, 'write');
  }

  send(fd: number, buf: Buf, len?: number, flags = 0): Promise<number> {
    return this.sendImpl(fd, buf, len, flags, undefined, 'send');
  }

  /** For UDP, one datagram to `addr` (or the connected peer); for TCP the address is ignored, as on Linux. */
  sendto(fd: number, buf: Buf, len?: number, flags = 0, addr?: SockAddrIn): Promise<number> {
    return this.sendImpl(fd, buf, len, flags, addr, 'sendto');
  }

  private async recvImpl(
    fd: number,
    buf: Uint8Array,
    len: number | undefined,
    flags: number,
    addrOut: SockAddrIn | undefined,
    name: string,
  ): Promise<number> {
    const s = this.get(fd, name);
    const call = `${name}(fd ${fd})`;
    const view = clampView(buf, len, call);
    if (s instanceof TcpSock) return s.read(view, flags, call);
    const n = await (s as UdpSock).recv(view, flags, addrOut, call);
    if (addrOut !== undefined) addrOut.family = AF_INET;
    return n;
  }

  private async sendImpl(
    fd: number,
    buf: Buf,
    len: number | undefined,
    flags: number,
    addr: SockAddrIn | undefined,
    name: string,
  ): Promise<number> {
    const s = this.get(fd, name);
    const call = `${name}(fd ${fd})`;
    const bytes = typeof buf === 'string' ? this.encoder.encode(buf) : buf;
    const view = clampView(bytes, len, call);
    if (s instanceof TcpSock) return s.write(view, flags, call);
    const to = addr === undefined ? undefined : this.addrIn(addr, call);
    return (s as UdpSock).send(view, to, call);
  }

  // ---- teardown --------------------------------------------------------------------------

  shutdown(fd: number, how: number): void {
    const s = this.get(fd, 'shutdown');
    const call = `shutdown(fd ${fd}, ${how})`;
    if (how !== SHUT_RD && how !== 1 && how !== SHUT_RDWR) throw sockError('EINVAL', call, 'how is SHUT_RD, SHUT_WR or SHUT_RDWR');
    if (s instanceof TcpSock) s.shutdown(how, call);
    else (s as UdpSock).shutdown(how, call);
  }

  /**
   * Release the descriptor. TCP: unsent data is still sent, then FIN (graceful); with
   * SO_LINGER {l_onoff: 1, l_linger: 0} the connection is reset instead. Calls blocked
   * on the descriptor fail with EBADF.
   */
  close(fd: number): void {
    const s = this.get(fd, 'close');
    this.fds.delete(fd);
    if (s instanceof TcpSock && s.conn !== undefined && s.conn.state !== 'CLOSED') this.closing.add(s.conn);
    s.close();
  }

  /**
   * What process exit does for a C program: close every open descriptor, then wait (up to
   * timeoutMs on the stack clock) until each closed connection has had its data and FIN
   * acknowledged (FIN-WAIT-2, TIME-WAIT or CLOSED), which the kernel would do after exit.
   * Resolves true when everything was delivered.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    for (const fd of this.openFds) this.close(fd);
    const clock = this.env.clock;
    const deadline = clock.now() + timeoutMs;
    for (;;) {
      for (const c of this.closing) if (DELIVERED.has(c.state)) this.closing.delete(c);
      if (this.closing.size === 0) return true;
      if (clock.now() >= deadline) return false;
      await sleepOn(clock, [], Math.min(deadline, clock.now() + DRAIN_POLL_MS));
    }
  }

  // ---- names and options ---------------------------------------------------------------

  getsockname(fd: number, out: SockAddrIn = sockaddr_in()): SockAddr {
    const s = this.get(fd, 'getsockname');
    return fill(out, (s as TcpSock | UdpSock).localName());
  }

  getpeername(fd: number, out: SockAddrIn = sockaddr_in()): SockAddr {
    const s = this.get(fd, 'getpeername');
    return fill(out, (s as TcpSock | UdpSock).peerName(`getpeername(fd ${fd})`));
  }

  setsockopt(fd: number, level: number, optname: number, value: SockOptValue): void {
    const s = this.get(fd, 'setsockopt');
    setSockOpt(s, level, optname, value, `setsockopt(fd ${fd}, ${level}, ${optname})`);
  }

  getsockopt(fd: number, level: number, optname: number): SockOptResult {
    const s = this.get(fd, 'getsockopt');
    return getSockOpt(s, level, optname, `getsockopt(fd ${fd}, ${level}, ${optname})`);
  }

  /** F_GETFL returns O_RDWR | (O_NONBLOCK when set); F_SETFL sets or clears O_NONBLOCK. */
  fcntl(fd: number, cmd: number, arg = 0): number {
    const s = this.get(fd, 'fcntl');
    if (cmd === F_GETFL) return O_RDWR | (s.nonblock ? O_NONBLOCK : 0);
    if (cmd === F_SETFL) {
      s.nonblock = (arg & O_NONBLOCK) !== 0;
      return 0;
    }
    throw sockError('EINVAL', `fcntl(fd ${fd}, ${cmd})`, 'supported: F_GETFL, F_SETFL');
  }

  // ---- multiplexing --------------------------------------------------------------------

  /**
   * poll(fds, timeoutMs): fills each entry's revents; resolves with the number of ready
   * entries (0 on timeout). timeoutMs < 0 waits forever. Unknown descriptors get POLLNVAL.
   */
  poll(fds: PollFd[], timeoutMs: number): Promise<number> {
    return pollSockets(this.env.clock, fds, timeoutMs, (fd) => this.fds.get(fd));
  }

  /**
   * select(nfds, readfds, writefds, exceptfds, timeoutMs): like C, the sets are modified in
   * place to hold the ready descriptors; resolves with their total count. timeoutMs
   * null/undefined waits forever. EBADF for a descriptor that is not open.
   */
  async select(nfds: number, readfds?: FdSet | null, writefds?: FdSet | null, exceptfds?: FdSet | null, timeoutMs?: number | null): Promise<number> {
    const entries = new Map<number, PollFd>();
    const add = (set: FdSet | null | undefined, events: number): void => {
      for (const fd of set?.list() ?? []) {
        if (fd >= nfds) continue;
        if (!this.fds.has(fd)) throw sockError('EBADF', `select(fd ${fd})`, 'the descriptor is not open');
        const e = entries.get(fd) ?? { fd, events: 0, revents: 0 };
        e.events |= events;
        entries.set(fd, e);
      }
    };
    add(readfds, SELECT_READ);
    add(writefds, SELECT_WRITE);
    add(exceptfds, SELECT_EXCEPT);
    const list = [...entries.values()];
    await pollSockets(this.env.clock, list, timeoutMs ?? -1, (fd) => this.fds.get(fd));
    let n = 0;
    const keep = (set: FdSet | null | undefined, mask: number): void => {
      if (set === null || set === undefined) return;
      for (const fd of set.list()) {
        const e = entries.get(fd);
        if (e !== undefined && (e.revents & mask) !== 0) n++;
        else set.clr(fd);
      }
    };
    keep(readfds, SELECT_READ);
    keep(writefds, SELECT_WRITE);
    keep(exceptfds, SELECT_EXCEPT);
    return n;
  }

  // ---- internals -------------------------------------------------------------------------

  private install(s: Sock, call: string): number {
    for (let fd = FIRST_FD; fd < this.maxFds; fd++) {
      if (!this.fds.has(fd)) {
        this.fds.set(fd, s);
        return fd;
      }
    }
    s.close();
    throw sockError('EMFILE', call, `all ${this.maxFds - FIRST_FD} descriptors are open; close some`);
  }

  private get(fd: number, name: string): Sock {
    const s = this.fds.get(fd);
    if (s !== undefined) return s;
    if (fd >= 0 && fd < FIRST_FD) throw sockError('ENOTSOCK', `${name}(fd ${fd})`, `fd ${fd} is ${STDIO[fd]}, not a socket`);
    throw sockError('EBADF', `${name}(fd ${fd})`, 'no such open socket (closed already?)');
  }

  private addrIn(a: SockAddrIn, call: string): { addr: number; port: number } {
    if (a.family !== undefined && a.family !== AF_INET) throw sockError('EAFNOSUPPORT', call, 'family must be AF_INET');
    const addr = typeof a.addr === 'number' ? a.addr >>> 0 : parseIp(a.addr.trim());
    if (addr === undefined) throw sockError('EINVAL', call, `"${String(a.addr)}" is not a dotted-quad IPv4 address`);
    if (!Number.isInteger(a.port)) throw sockError('EINVAL', call, `port ${a.port} is not an integer`);
    return { addr, port: a.port };
  }
}

function fill(out: SockAddrIn, v: { addr: number; port: number }): SockAddr {
  out.family = AF_INET;
  out.addr = v.addr;
  out.port = v.port;
  return out as SockAddr;
}

/** buf[0, len) as a view; len beyond the buffer is clamped (C would overflow it). */
function clampView(buf: Uint8Array, len: number | undefined, call: string): Uint8Array {
  if (len === undefined || len >= buf.length) return buf;
  if (!(len >= 0)) throw sockError('EINVAL', call, `length ${len} is negative`);
  return buf.subarray(0, Math.trunc(len));
}
