/**
 * A SOCK_DGRAM socket over UdpSocket (src/udp/udp.ts). Sends never block (a datagram
 * goes to IPv4 at once or fails); receives wait for a datagram. Errno choices follow
 * Linux net/ipv4/udp.c and net/core/datagram.c.
 */
import type { ErrnoName } from '../core/errno.js';
import type { UdpSocket, UdpSource } from '../udp/udp.js';
import { MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, SHUT_RD, SHUT_WR, SOCK_DGRAM } from './constants.js';
import { sockError } from './errno.js';
import { Sock, type SockEnv } from './sock.js';

/** SO_SNDBUF for UDP is only reported (a send never waits for buffer space here). */
const UDP_DEFAULT_SNDBUF = 212992;

export class UdpSock extends Sock {
  readonly type = SOCK_DGRAM;
  readonly pcb: UdpSocket;
  sndbuf = UDP_DEFAULT_SNDBUF;
  private readonly from: UdpSource = { addr: 0, port: 0 };

  constructor(env: SockEnv) {
    super(env);
    const udp = env.udp;
    if (udp === undefined) throw sockError('EPROTONOSUPPORT', 'socket', 'this stack has no UDP layer');
    this.pcb = udp.open();
    this.pcb.setHandler({ readable: () => this.wake() });
  }

  bind(addr: number, port: number, call: string): void {
    this.pcb.reuseAddr = this.reuseAddr;
    const e = this.pcb.bind(addr, port);
    if (e !== undefined) {
      throw sockError(
        e,
        call,
        e === 'EINVAL'
          ? 'the socket is already bound; a socket binds once'
          : e === 'EADDRINUSE'
            ? 'another socket holds the port (both must set SO_REUSEADDR to share it)'
            : e === 'EADDRNOTAVAIL'
              ? 'bind to INADDR_ANY or this stack\'s own address'
              : undefined,
      );
    }
  }

  connect(addr: number, port: number, unspec: boolean, call: string): void {
    if (unspec) {
      this.pcb.disconnect();
      return;
    }
    this.pcb.reuseAddr = this.reuseAddr;
    const e = this.pcb.connect(addr, port);
    if (e !== undefined) throw sockError(e, call);
  }

  /** One datagram; to `to` or, when undefined, the connected peer. */
  send(buf: Uint8Array, to: { addr: number; port: number } | undefined, call: string): number {
    if (this.shutWr) throw sockError('EPIPE', call, 'shutdown(SHUT_WR) was called on this socket');
    this.pcb.reuseAddr = this.reuseAddr;
    const r = to === undefined ? this.pcb.send(buf) : this.pcb.send(buf, to.addr, to.port);
    if (typeof r === 'number') return r;
    throw sockError(r, call, udpHint(r));
  }

  /**
   * Receive one datagram (truncated to buf; the rest is discarded). Returns the bytes
   * copied, or with MSG_TRUNC the datagram's real length. A pending error (ICMP port
   * unreachable on a connected socket) comes first, as in Linux __skb_recv_udp.
   */
  async recv(buf: Uint8Array, flags: number, fromOut: { addr: number | string; port: number } | undefined, call: string): Promise<number> {
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    const deadline = this.deadline(false);
    for (;;) {
      this.checkOpen(call);
      const err = this.pcb.takeError();
      if (err !== undefined) throw sockError(err, call, udpHint(err));
      const len = this.pcb.nextLength;
      const n = this.pcb.recv(buf, this.from, (flags & MSG_PEEK) !== 0);
      if (n >= 0) {
        if (fromOut !== undefined) {
          fromOut.addr = this.from.addr;
          fromOut.port = this.from.port;
        }
        return (flags & MSG_TRUNC) !== 0 ? len : n;
      }
      if (this.shutRd) return 0;
      if (nonblock) throw sockError('EAGAIN', call, 'no datagram yet; poll for POLLIN');
      if (!(await this.sleep(deadline))) throw sockError('EAGAIN', call, 'SO_RCVTIMEO expired');
    }
  }

  shutdown(how: number, call: string): void {
    // Linux inet_shutdown sets the flags even on an unconnected UDP socket (so pollers
    // see POLLHUP), then reports ENOTCONN.
    if (how !== SHUT_WR) this.shutRd = true;
    if (how !== SHUT_RD) this.shutWr = true;
    this.wake();
    if (!this.pcb.connected) throw sockError('ENOTCONN', call);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pcb.close();
    this.wake();
  }

  takeError(): ErrnoName | undefined {
    return this.pcb.takeError();
  }

  localName(): { addr: number; port: number } {
    return { addr: this.pcb.localAddr, port: this.pcb.localPort };
  }

  peerName(call: string): { addr: number; port: number } {
    if (!this.pcb.connected) throw sockError('ENOTCONN', call);
    return { addr: this.pcb.remoteAddr, port: this.pcb.remotePort };
  }

  /** Linux datagram_poll. */
  pollMask(): number {
    let mask = POLLOUT;
    if (this.pcb.hasError) mask |= POLLERR;
    if (this.shutRd) mask |= POLLIN | POLLRDHUP;
    if (this.shutRd && this.shutWr) mask |= POLLHUP;
    if (this.pcb.queuedDatagrams > 0) mask |= POLLIN;
    return mask;
  }
}

function udpHint(e: ErrnoName): string | undefined {
  switch (e) {
    case 'ECONNREFUSED':
      return 'an earlier datagram drew ICMP port unreachable: nothing listens there';
    case 'EDESTADDRREQ':
      return 'use sendto() with an address, or connect() first';
    case 'EMSGSIZE':
      return 'a UDP datagram carries at most 65507 bytes';
    case 'EACCES':
      return 'sending to a broadcast address needs SO_BROADCAST';
    case 'EHOSTUNREACH':
      return 'ARP got no answer for the next hop';
    default:
      return undefined;
  }
}
