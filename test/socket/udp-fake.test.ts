/**
 * SOCK_DGRAM through the socket API: two UdpLayers on a fake IPv4 wire
 * (test/helpers/socket-fake-ip.ts), on virtual time.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import {
  AF_UNSPEC,
  F_SETFL,
  INADDR_ANY,
  IPPROTO_TCP,
  MSG_PEEK,
  MSG_TRUNC,
  O_NONBLOCK,
  PF_INET,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_RDWR,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_ERROR,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_TYPE,
  SocketApi,
  TCP_NODELAY,
  errnoName,
  sockaddr_in,
  type PollFd,
} from '../../src/socket/index.js';
import { SeededRng } from '../../src/core/rng.js';
import { UDP_DATAGRAM_OVERHEAD, UdpLayer } from '../../src/udp/udp.js';
import { drive, errnoOf, errnoOfSync, isPending } from '../helpers/socket-drive.js';
import { FakeIpWire } from '../helpers/socket-fake-ip.js';

const A = 0x0a4d0001;
const B = 0x0a4d0002;

function setup() {
  const clock = new ManualClock();
  const wire = new FakeIpWire(clock);
  const mk = (addr: number, seed: number) => {
    const udp = new UdpLayer({ ip: wire.host(addr), clock, rng: new SeededRng(seed) });
    wire.attach(addr, udp);
    return { udp, api: new SocketApi({ udp, clock, localAddr: addr }) };
  };
  const a = mk(A, 1);
  const b = mk(B, 2);
  return { clock, wire, a: a.api, b: b.api, udpA: a.udp, udpB: b.udp };
}

const dec = (b: Uint8Array, n: number): string => new TextDecoder().decode(b.subarray(0, n));

describe('UDP sockets', () => {
  it('sendto/recvfrom keep message boundaries and report the source', async () => {
    const { clock, a, b } = setup();
    const serv_sock = b.socket(PF_INET, SOCK_DGRAM, 0);
    b.bind(serv_sock, { addr: INADDR_ANY, port: 9192 });
    const sock = a.socket(PF_INET, SOCK_DGRAM, 0);
    const serv_adr = { addr: '10.77.0.2', port: 9192 };
    for (const m of ['Hi!', "I'm another UDP host!", 'Nice to meet you']) {
      expect(await a.sendto(sock, m, undefined, 0, serv_adr)).toBe(m.length);
    }
    const message = new Uint8Array(30);
    const clnt_adr = sockaddr_in();
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push(dec(message, await drive(clock, b.recvfrom(serv_sock, message, 30, 0, clnt_adr))));
    expect(got).toEqual(['Hi!', "I'm another UDP host!", 'Nice to meet you']);
    expect(clnt_adr).toEqual({ family: PF_INET, addr: A, port: a.getsockname(sock).port });
    // Echo back to the reported source.
    await b.sendto(serv_sock, message, 3, 0, clnt_adr);
    const from = sockaddr_in();
    expect(await drive(clock, a.recvfrom(sock, message, 30, 0, from))).toBe(3);
    expect(from).toMatchObject({ addr: B, port: 9192 });
  });

  it('a short buffer truncates the datagram; MSG_TRUNC gives the real length; MSG_PEEK keeps it', async () => {
    const { clock, a, b } = setup();
    const s = b.socket(PF_INET, SOCK_DGRAM, 0);
    b.bind(s, { addr: INADDR_ANY, port: 7 });
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    await a.sendto(c, 'abcdefghij', undefined, 0, { addr: B, port: 7 });
    await a.sendto(c, 'second', undefined, 0, { addr: B, port: 7 });
    const buf = new Uint8Array(4);
    expect(await drive(clock, b.recv(s, buf, 4, MSG_PEEK))).toBe(4);
    expect(await b.recv(s, buf, 4, MSG_TRUNC)).toBe(10);
    expect(dec(buf, 4)).toBe('abcd');
    const big = new Uint8Array(100);
    expect(dec(big, await drive(clock, b.recv(s, big)))).toBe('second');
  });

  it('blocking recvfrom waits for a datagram; non-blocking gets EAGAIN', async () => {
    const { clock, a, b } = setup();
    const s = b.socket(PF_INET, SOCK_DGRAM, 0);
    b.bind(s, { addr: INADDR_ANY, port: 7 });
    const buf = new Uint8Array(10);
    const r = b.recvfrom(s, buf, 10);
    expect(await isPending(r)).toBe(true);
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    await a.sendto(c, 'x', undefined, 0, { addr: B, port: 7 });
    expect(await drive(clock, r)).toBe(1);
    b.fcntl(s, F_SETFL, O_NONBLOCK);
    expect(await errnoOf(b.recvfrom(s, buf, 10))).toBe('EAGAIN');
  });

  it('connect sets the default peer: send/recv/write/read work, other sources are filtered', async () => {
    const { clock, a, b } = setup();
    const s = b.socket(PF_INET, SOCK_DGRAM, 0);
    b.bind(s, { addr: INADDR_ANY, port: 7 });
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    expect(await errnoOf(a.send(c, 'x'))).toBe('EDESTADDRREQ');
    await a.connect(c, { addr: B, port: 7 });
    expect(a.getpeername(c)).toEqual({ family: PF_INET, addr: B, port: 7 });
    expect(await a.write(c, 'ping')).toBe(4);
    const buf = new Uint8Array(10);
    const from = sockaddr_in();
    expect(await drive(clock, b.recvfrom(s, buf, 10, 0, from))).toBe(4);
    // A datagram from another port of B is not for the connected socket.
    const other = b.socket(PF_INET, SOCK_DGRAM, 0);
    b.bind(other, { addr: INADDR_ANY, port: 8 });
    await b.sendto(other, 'intruder', undefined, 0, from);
    await b.sendto(s, 'pong', undefined, 0, from);
    expect(dec(buf, await drive(clock, a.read(c, buf)))).toBe('pong');
    a.fcntl(c, F_SETFL, O_NONBLOCK);
    expect(await errnoOf(a.read(c, buf))).toBe('EAGAIN');
    // connect(AF_UNSPEC) dissolves the association.
    await a.connect(c, { family: AF_UNSPEC, addr: 0, port: 0 });
    expect(errnoOfSync(() => a.getpeername(c))).toBe('ENOTCONN');
  });

  it('ICMP port unreachable: ECONNREFUSED on the next recv of a connected socket, POLLERR before', async () => {
    const { clock, a } = setup();
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    await a.connect(c, { addr: B, port: 9999 }); // nothing there
    await a.send(c, 'anyone?');
    const buf = new Uint8Array(10);
    const pfd: PollFd[] = [{ fd: c, events: POLLIN, revents: 0 }];
    await drive(clock, a.poll(pfd, -1));
    expect(pfd[0]!.revents).toBe(POLLERR);
    expect(await errnoOf(a.recv(c, buf))).toBe('ECONNREFUSED');
    // Once reported, it is gone; SO_ERROR reads it too.
    await a.send(c, 'again');
    await drive(clock, a.poll(pfd, -1));
    expect(errnoName(a.getsockopt(c, SOL_SOCKET, SO_ERROR) as number)).toBe('ECONNREFUSED');
    expect(a.getsockopt(c, SOL_SOCKET, SO_ERROR)).toBe(0);
    // ... and the same error comes back from send.
    await a.send(c, 'third');
    await drive(clock, a.poll(pfd, -1));
    expect(await errnoOf(a.send(c, 'x'))).toBe('ECONNREFUSED');
  });

  it('an unconnected socket does not see ICMP errors', async () => {
    const { clock, a, wire } = setup();
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    await a.sendto(c, 'x', undefined, 0, { addr: B, port: 9999 });
    await drive(clock, (async () => {
      while (wire.delivered === 0) await new Promise((r) => setImmediate(r));
    })());
    clock.advance(10);
    const pfd: PollFd[] = [{ fd: c, events: POLLIN, revents: 0 }];
    expect(await a.poll(pfd, 0)).toBe(0);
  });

  it('errors: EADDRINUSE without both SO_REUSEADDR, EMSGSIZE, EACCES broadcast, EOPNOTSUPP listen/accept', async () => {
    const { a } = setup();
    const s1 = a.socket(PF_INET, SOCK_DGRAM, 0);
    const s2 = a.socket(PF_INET, SOCK_DGRAM, 0);
    a.bind(s1, { addr: INADDR_ANY, port: 5000 });
    expect(errnoOfSync(() => a.bind(s2, { addr: INADDR_ANY, port: 5000 }))).toBe('EADDRINUSE');
    const r1 = a.socket(PF_INET, SOCK_DGRAM, 0);
    const r2 = a.socket(PF_INET, SOCK_DGRAM, 0);
    a.setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, 1);
    a.setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, 1);
    a.bind(r1, { addr: INADDR_ANY, port: 5001 });
    a.bind(r2, { addr: INADDR_ANY, port: 5001 });
    expect(await errnoOf(a.sendto(s1, new Uint8Array(65508), undefined, 0, { addr: B, port: 7 }))).toBe('EMSGSIZE');
    expect(await errnoOf(a.sendto(s1, 'x', undefined, 0, { addr: '255.255.255.255', port: 7 }))).toBe('EACCES');
    a.setsockopt(s1, SOL_SOCKET, SO_BROADCAST, 1);
    expect(await a.sendto(s1, 'x', undefined, 0, { addr: '255.255.255.255', port: 7 })).toBe(1);
    expect(errnoOfSync(() => a.listen(s1, 5))).toBe('EOPNOTSUPP');
    expect(await errnoOf(a.accept(s1))).toBe('EOPNOTSUPP');
    expect(errnoOfSync(() => a.setsockopt(s1, IPPROTO_TCP, TCP_NODELAY, 1))).toBe('ENOPROTOOPT');
    expect(a.getsockopt(s1, SOL_SOCKET, SO_TYPE)).toBe(SOCK_DGRAM);
    expect(await errnoOf(a.sendto(s1, 'x', undefined, 0, { addr: B, port: 0 }))).toBe('EINVAL');
  });

  it('SO_RCVBUF bounds the queue; overflow is counted', async () => {
    const { clock, a, b, udpB } = setup();
    const s = b.socket(PF_INET, SOCK_DGRAM, 0);
    b.bind(s, { addr: INADDR_ANY, port: 7 });
    b.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 2 * (100 + UDP_DATAGRAM_OVERHEAD));
    expect(b.getsockopt(s, SOL_SOCKET, SO_RCVBUF)).toBe(2 * (100 + UDP_DATAGRAM_OVERHEAD));
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    for (let i = 0; i < 5; i++) await a.sendto(c, new Uint8Array(100), undefined, 0, { addr: B, port: 7 });
    clock.advance(10);
    expect(udpB.counters.RcvbufErrors).toBe(3);
    b.fcntl(s, F_SETFL, O_NONBLOCK);
    const buf = new Uint8Array(200);
    expect(await b.recv(s, buf)).toBe(100);
    expect(await b.recv(s, buf)).toBe(100);
    expect(await errnoOf(b.recv(s, buf))).toBe('EAGAIN');
  });

  it('shutdown: SHUT_RD makes a blocked recv return 0; unconnected shutdown says ENOTCONN but still applies', async () => {
    const { a } = setup();
    const s = a.socket(PF_INET, SOCK_DGRAM, 0);
    a.bind(s, { addr: INADDR_ANY, port: 7 });
    const r = a.recv(s, new Uint8Array(10));
    expect(await isPending(r)).toBe(true);
    expect(errnoOfSync(() => a.shutdown(s, SHUT_RD))).toBe('ENOTCONN');
    expect(await r).toBe(0);
    const pfd: PollFd[] = [{ fd: s, events: POLLIN | POLLOUT | POLLRDHUP, revents: 0 }];
    await a.poll(pfd, 0);
    expect(pfd[0]!.revents).toBe(POLLIN | POLLOUT | POLLRDHUP);
    const c = a.socket(PF_INET, SOCK_DGRAM, 0);
    await a.connect(c, { addr: B, port: 7 });
    a.shutdown(c, SHUT_RDWR);
    expect(await errnoOf(a.send(c, 'x'))).toBe('EPIPE');
    const pc: PollFd[] = [{ fd: c, events: POLLIN, revents: 0 }];
    await a.poll(pc, 0);
    expect(pc[0]!.revents).toBe(POLLIN | POLLHUP);
  });

  it('getsockname shows the autobound port; close frees it and wakes blocked calls', async () => {
    const { a, udpA } = setup();
    const s = a.socket(PF_INET, SOCK_DGRAM, 0);
    expect(a.getsockname(s)).toEqual({ family: PF_INET, addr: 0, port: 0 });
    await a.sendto(s, 'x', undefined, 0, { addr: B, port: 7 });
    const port = a.getsockname(s).port;
    expect(port).toBeGreaterThanOrEqual(32768);
    const r = a.recv(s, new Uint8Array(1));
    a.close(s);
    expect(await errnoOf(r)).toBe('EBADF');
    expect(udpA.socketCount).toBe(0);
  });
});
