/**
 * The socket API over two real stacks (Ethernet/ARP, IPv4, the TCP engine, UDP) on a
 * SimNetwork cable, on virtual time: every call and its errno paths as a C program would
 * see them.
 */
import { describe, expect, it } from 'vitest';
import {
  F_SETFL,
  INADDR_ANY,
  IPPROTO_TCP,
  O_NONBLOCK,
  PF_INET,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SocketApi,
  TCP_CONGESTION,
  TCP_INFO,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_NODELAY,
  errnoName,
  sockaddr_in,
  type PollFd,
} from '../../src/socket/index.js';
import type { TcpInfo } from '../../src/tcp/api.js';
import { drive, driveUntil, errnoOf, errnoOfSync, isPending } from '../helpers/socket-drive.js';
import { ADDR_A, ADDR_B, twoStacks, type TwoStacks } from '../helpers/socket-sim.js';

const B = '10.77.0.2';

function listening(sys: SocketApi, port: number, backlog = 5): number {
  const fd = sys.socket(PF_INET, SOCK_STREAM, 0);
  sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  sys.bind(fd, { addr: INADDR_ANY, port });
  sys.listen(fd, backlog);
  return fd;
}

async function pair(env: TwoStacks, port = 9190): Promise<{ lfd: number; sfd: number; cfd: number }> {
  const lfd = listening(env.sb, port);
  const cfd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
  const acc = env.sb.accept(lfd);
  await drive(env.sim, env.sa.connect(cfd, { addr: B, port }));
  const sfd = await drive(env.sim, acc);
  return { lfd, sfd, cfd };
}

/** Read until EOF (or `max` bytes); returns everything read. */
async function readAll(env: TwoStacks, sys: SocketApi, fd: number, max = Infinity): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  while (total < max) {
    const n = await drive(env.sim, sys.read(fd, buf));
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
    total += n;
  }
  return Buffer.concat(parts);
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('TCP over two stacks', () => {
  it('echo: accept fills the peer address, data both ways, EOF after close', async () => {
    const env = twoStacks();
    const lfd = listening(env.sb, 9190);
    const cfd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    const clnt_adr = sockaddr_in();
    const acc = env.sb.accept(lfd, clnt_adr);
    await drive(env.sim, env.sa.connect(cfd, { addr: B, port: 9190 }));
    const sfd = await drive(env.sim, acc);
    const mine = env.sa.getsockname(cfd);
    expect(mine.addr).toBe(ADDR_A);
    expect(clnt_adr).toEqual({ family: PF_INET, addr: ADDR_A, port: mine.port });
    expect(env.sa.getpeername(cfd)).toEqual({ family: PF_INET, addr: ADDR_B, port: 9190 });
    expect(env.sb.getsockname(sfd)).toEqual({ family: PF_INET, addr: ADDR_B, port: 9190 });
    await env.sa.write(cfd, 'Hello, stack!\n');
    const buf = new Uint8Array(100);
    const n = await drive(env.sim, env.sb.read(sfd, buf, 100));
    expect(Buffer.from(buf.subarray(0, n)).toString()).toBe('Hello, stack!\n');
    await env.sb.write(sfd, buf, n);
    expect(await drive(env.sim, env.sa.read(cfd, buf))).toBe(n);
    env.sa.close(cfd);
    expect(await drive(env.sim, env.sb.read(sfd, buf))).toBe(0);
    env.sb.close(sfd);
    expect(await drive(env.sim, env.sa.drain(5000))).toBe(true);
  });

  it('a 2 MB blocking write returns once all is queued and arrives intact', async () => {
    const env = twoStacks();
    const { sfd, cfd } = await pair(env);
    const data = pattern(2_000_000);
    const w = env.sa.write(cfd, data);
    const got = await readAll(env, env.sb, sfd, data.length);
    expect(await drive(env.sim, w)).toBe(data.length);
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
  });

  it('EADDRINUSE, then SO_REUSEADDR binds over a TIME-WAIT connection', async () => {
    const env = twoStacks();
    const { lfd, sfd, cfd } = await pair(env, 9190);
    const other = env.sb.socket(PF_INET, SOCK_STREAM, 0);
    expect(errnoOfSync(() => env.sb.bind(other, { addr: INADDR_ANY, port: 9190 }))).toBe('EADDRINUSE');
    // The server closes first: its end of the connection goes to TIME-WAIT.
    env.sb.close(lfd);
    env.sb.close(sfd);
    expect(await drive(env.sim, env.sa.read(cfd, new Uint8Array(1)))).toBe(0);
    env.sa.close(cfd);
    await driveUntil(env.sim, () => env.b.tcp.connections().some((c) => c.state === 'TIME-WAIT'));
    const again = env.sb.socket(PF_INET, SOCK_STREAM, 0);
    expect(errnoOfSync(() => env.sb.bind(again, { addr: INADDR_ANY, port: 9190 }))).toBe('EADDRINUSE');
    env.sb.setsockopt(again, SOL_SOCKET, SO_REUSEADDR, 1);
    env.sb.bind(again, { addr: INADDR_ANY, port: 9190 });
    env.sb.listen(again, 5);
  });

  it('ECONNREFUSED from a closed port (the peer answers RST)', async () => {
    const env = twoStacks();
    const fd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    const err = (await drive(env.sim, env.sa.connect(fd, { addr: B, port: 9999 }).then(() => undefined, (e: unknown) => e))) as Error & { code: string };
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/connect\(fd 3, 10\.77\.0\.2:9999\): Connection refused/);
    expect(env.sim.now()).toBeLessThan(100); // one round trip, not a timeout
  });

  it('ETIMEDOUT when the SYN is never answered', async () => {
    const env = twoStacks({ a: { tcp: { synRetries: 2 } } });
    // Let A learn B's MAC, then make B deaf: SYNs go out and vanish.
    const u = env.sa.socket(PF_INET, SOCK_DGRAM, 0);
    await env.sa.sendto(u, 'hi', undefined, 0, { addr: B, port: 9 });
    await driveUntil(env.sim, () => env.b.udp.counters.NoPorts === 1);
    env.sim.pair(0).links[1].setReceiver({ receive() {} });
    const fd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    const t0 = env.sim.now();
    expect(await errnoOf(drive(env.sim, env.sa.connect(fd, { addr: B, port: 9190 })))).toBe('ETIMEDOUT');
    // RFC 6298: RTO 1 s, doubled per retry: 1 + 2 + 4 s for two retries.
    expect(env.sim.now() - t0).toBeGreaterThanOrEqual(7000);
    expect(env.sim.now() - t0).toBeLessThan(8000);
  });

  it('EHOSTUNREACH when ARP gets no answer for the destination', async () => {
    const env = twoStacks({ a: { tcp: { synRetries: 2 } } });
    const fd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    expect(await errnoOf(drive(env.sim, env.sa.connect(fd, { addr: '10.77.0.99', port: 80 })))).toBe('EHOSTUNREACH');
  });

  it('state errors against the real engine: EISCONN, EINVAL, ENOTCONN, EPIPE', async () => {
    const env = twoStacks();
    const { lfd, sfd, cfd } = await pair(env);
    expect(await errnoOf(env.sa.connect(cfd, { addr: B, port: 9190 }))).toBe('EISCONN');
    expect(await errnoOf(env.sb.connect(lfd, { addr: ADDR_A, port: 1 }))).toBe('EISCONN');
    expect(errnoOfSync(() => env.sa.listen(cfd, 5))).toBe('EINVAL');
    expect(await errnoOf(env.sb.accept(sfd))).toBe('EINVAL');
    expect(await errnoOf(env.sb.read(lfd, new Uint8Array(4)))).toBe('ENOTCONN');
    expect(await errnoOf(env.sb.write(lfd, 'x'))).toBe('EPIPE');
    env.sa.shutdown(cfd, SHUT_WR);
    expect(await errnoOf(env.sa.write(cfd, 'x'))).toBe('EPIPE');
  });
});

describe('non-blocking TCP over two stacks', () => {
  it('EINPROGRESS, POLLOUT on completion, SO_ERROR 0; EAGAIN on read and accept', async () => {
    const env = twoStacks();
    const lfd = listening(env.sb, 9190);
    env.sb.fcntl(lfd, F_SETFL, O_NONBLOCK);
    expect(await errnoOf(env.sb.accept(lfd))).toBe('EAGAIN');
    const cfd = env.sa.socket(PF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    expect(await errnoOf(env.sa.connect(cfd, { addr: B, port: 9190 }))).toBe('EINPROGRESS');
    expect(await errnoOf(env.sa.connect(cfd, { addr: B, port: 9190 }))).toBe('EALREADY');
    const p: PollFd[] = [{ fd: cfd, events: POLLOUT, revents: 0 }];
    expect(await drive(env.sim, env.sa.poll(p, -1))).toBe(1);
    expect(env.sa.getsockopt(cfd, SOL_SOCKET, SO_ERROR)).toBe(0);
    expect(await errnoOf(env.sa.read(cfd, new Uint8Array(4)))).toBe('EAGAIN');
    const pl: PollFd[] = [{ fd: lfd, events: POLLIN, revents: 0 }];
    await drive(env.sim, env.sb.poll(pl, -1));
    expect(pl[0]!.revents).toBe(POLLIN);
    const sfd = await env.sb.accept(lfd);
    expect(sfd).toBeGreaterThan(lfd);
  });

  it('refused non-blocking connect: POLLERR and SO_ERROR = ECONNREFUSED', async () => {
    const env = twoStacks();
    const cfd = env.sa.socket(PF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    expect(await errnoOf(env.sa.connect(cfd, { addr: B, port: 9999 }))).toBe('EINPROGRESS');
    const p: PollFd[] = [{ fd: cfd, events: POLLOUT, revents: 0 }];
    await drive(env.sim, env.sa.poll(p, -1));
    expect(p[0]!.revents & POLLERR).toBe(POLLERR);
    expect(errnoName(env.sa.getsockopt(cfd, SOL_SOCKET, SO_ERROR) as number)).toBe('ECONNREFUSED');
  });

  it('partial writes: a write into a full send buffer returns what fitted, then EAGAIN; POLLOUT when it drains', async () => {
    const env = twoStacks();
    const lfd = env.sb.socket(PF_INET, SOCK_STREAM, 0);
    env.sb.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, 16384); // before listen(): the window is set at the handshake
    env.sb.bind(lfd, { addr: INADDR_ANY, port: 9190 });
    env.sb.listen(lfd, 5);
    const cfd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    env.sa.setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, 16384);
    const acc = env.sb.accept(lfd);
    await drive(env.sim, env.sa.connect(cfd, { addr: B, port: 9190 }));
    const sfd = await drive(env.sim, acc);
    env.sa.fcntl(cfd, F_SETFL, O_NONBLOCK);
    const data = pattern(200_000);
    let sent = 0;
    // The peer does not read: its window and our send buffer fill up.
    for (let i = 0; i < 100; i++) {
      const n = await env.sa.write(cfd, data.subarray(sent)).catch((e: { code: string }) => e.code);
      if (n === 'EAGAIN') break;
      expect(typeof n).toBe('number');
      expect(n as number).toBeLessThan(data.length - sent);
      sent += n as number;
      for (let k = 0; k < 20; k++) env.sim.step();
    }
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(100_000);
    const p: PollFd[] = [{ fd: cfd, events: POLLOUT, revents: 0 }];
    expect(await env.sa.poll(p, 0)).toBe(0);
    // The reader drains; POLLOUT comes back and the rest goes through.
    const reader = readAll(env, env.sb, sfd, data.length);
    await drive(env.sim, env.sa.poll(p, -1));
    env.sa.fcntl(cfd, F_SETFL, 0);
    await drive(env.sim, env.sa.write(cfd, data.subarray(sent)));
    const got = await reader;
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
  });
});

describe('reset, shutdown and close over two stacks', () => {
  it('SO_LINGER {1,0}: close sends RST; the peer read gets ECONNRESET, then EOF; write then EPIPE', async () => {
    const env = twoStacks();
    const { sfd, cfd } = await pair(env);
    env.sa.setsockopt(cfd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
    const resetsBefore = env.a.tcp.stats().OutRsts;
    const r = env.sb.read(sfd, new Uint8Array(10));
    env.sa.close(cfd);
    expect(await errnoOf(drive(env.sim, r))).toBe('ECONNRESET');
    expect(env.a.tcp.stats().OutRsts).toBe(resetsBefore + 1);
    const p: PollFd[] = [{ fd: sfd, events: POLLIN | POLLOUT | POLLRDHUP, revents: 0 }];
    await env.sb.poll(p, 0);
    expect(p[0]!.revents & (POLLHUP | POLLIN)).toBe(POLLHUP | POLLIN);
    expect(await env.sb.read(sfd, new Uint8Array(10))).toBe(0);
    expect(await errnoOf(env.sb.write(sfd, 'x'))).toBe('EPIPE');
  });

  it('writing to a peer that closed draws RST: ECONNRESET, then EPIPE', async () => {
    const env = twoStacks();
    const { sfd, cfd } = await pair(env);
    env.sb.close(sfd);
    expect(await drive(env.sim, env.sa.read(cfd, new Uint8Array(4)))).toBe(0); // FIN
    await env.sa.write(cfd, 'are you there?'); // the peer has no socket any more: RST
    await driveUntil(env.sim, () => env.a.tcp.connections().length === 0);
    expect(env.b.tcp.stats().OutRsts).toBeGreaterThan(0);
    expect(await errnoOf(env.sa.write(cfd, 'x'))).toBe('ECONNRESET');
    expect(await errnoOf(env.sa.write(cfd, 'x'))).toBe('EPIPE');
  });

  it('close with unread data resets the connection (RFC 9293 / Linux)', async () => {
    const env = twoStacks();
    const { sfd, cfd } = await pair(env);
    await env.sa.write(cfd, 'unread');
    await driveUntil(env.sim, () => env.b.tcp.connections().some((c) => c.readableLength > 0));
    env.sb.close(sfd);
    expect(await errnoOf(drive(env.sim, env.sa.read(cfd, new Uint8Array(4))))).toBe('ECONNRESET');
  });

  it('half-close: after SHUT_WR the peer sees EOF and can still answer (file_server pattern)', async () => {
    const env = twoStacks();
    const { sfd, cfd } = await pair(env);
    const file = pattern(300_000, 7);
    await drive(env.sim, env.sb.write(sfd, file));
    env.sb.shutdown(sfd, SHUT_WR);
    const got = await readAll(env, env.sa, cfd);
    expect(Buffer.compare(got, Buffer.from(file))).toBe(0);
    await env.sa.write(cfd, 'Thank you\0');
    const buf = new Uint8Array(30);
    const n = await drive(env.sim, env.sb.read(sfd, buf, 30));
    expect(Buffer.from(buf.subarray(0, n)).toString()).toBe('Thank you\0');
    const p: PollFd[] = [{ fd: sfd, events: POLLIN | POLLOUT, revents: 0 }];
    env.sa.close(cfd);
    await drive(env.sim, env.sb.read(sfd, buf));
    await env.sb.poll(p, 0);
    expect(p[0]!.revents & POLLHUP).toBe(POLLHUP); // both directions shut
  });

  it('SHUT_RD: a blocked read returns 0 at once', async () => {
    const env = twoStacks();
    const { cfd } = await pair(env);
    const r = env.sa.read(cfd, new Uint8Array(4));
    expect(await isPending(r)).toBe(true);
    env.sa.shutdown(cfd, SHUT_RD);
    expect(await r).toBe(0);
  });

  it('the backlog: connections wait in the accept queue and are accepted in order', async () => {
    const env = twoStacks();
    const lfd = listening(env.sb, 9190, 5);
    const clients: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = env.sa.socket(PF_INET, SOCK_STREAM, 0);
      await drive(env.sim, env.sa.connect(c, { addr: B, port: 9190 }));
      await env.sa.write(c, `client ${i}`);
      clients.push(c);
    }
    const buf = new Uint8Array(20);
    for (let i = 0; i < 3; i++) {
      const addr = sockaddr_in();
      const s = await drive(env.sim, env.sb.accept(lfd, addr));
      expect(addr.port).toBe(env.sa.getsockname(clients[i]!).port);
      const n = await drive(env.sim, env.sb.read(s, buf));
      expect(Buffer.from(buf.subarray(0, n)).toString()).toBe(`client ${i}`);
    }
  });
});

describe('socket options reach the engine', () => {
  it('TCP_NODELAY, keepalive, buffers, MSS, congestion; TCP_INFO', async () => {
    const env = twoStacks();
    const lfd = listening(env.sb, 9190);
    env.sb.setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, 1);
    env.sb.setsockopt(lfd, IPPROTO_TCP, TCP_CONGESTION, 'newreno');
    const cfd = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_MAXSEG, 1000);
    env.sa.setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, 1);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_KEEPIDLE, 10);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_KEEPINTVL, 2);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_KEEPCNT, 3);
    const acc = env.sb.accept(lfd);
    await drive(env.sim, env.sa.connect(cfd, { addr: B, port: 9190 }));
    const sfd = await drive(env.sim, acc);
    expect(env.sb.getsockopt(sfd, IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    expect(env.sb.getsockopt(sfd, IPPROTO_TCP, TCP_CONGESTION)).toBe('newreno');
    expect(env.sa.getsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
    expect(env.sa.getsockopt(cfd, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(10);
    const info = env.sa.getsockopt(cfd, IPPROTO_TCP, TCP_INFO) as TcpInfo;
    expect(info.state).toBe('ESTABLISHED');
    expect(info.mss).toBeLessThanOrEqual(1000);
    expect(env.sa.getsockopt(cfd, IPPROTO_TCP, TCP_MAXSEG)).toBe(info.mss);
    expect((env.sb.getsockopt(sfd, IPPROTO_TCP, TCP_INFO) as TcpInfo).congestion).toBe('newreno');
  });

  it('keepalive finds a dead peer: ETIMEDOUT after idle + count * interval', async () => {
    const env = twoStacks();
    const { cfd } = await pair(env);
    env.sa.setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, 1);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_KEEPIDLE, 10);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_KEEPINTVL, 2);
    env.sa.setsockopt(cfd, IPPROTO_TCP, TCP_KEEPCNT, 3);
    env.sim.pair(0).links[1].setReceiver({ receive() {} }); // B vanishes
    const t0 = env.sim.now();
    expect(await errnoOf(drive(env.sim, env.sa.read(cfd, new Uint8Array(4))))).toBe('ETIMEDOUT');
    const t = env.sim.now() - t0;
    expect(t).toBeGreaterThanOrEqual(10_000 + 3 * 2000 - 100);
    expect(t).toBeLessThan(10_000 + 4 * 2000 + 100);
  });
});
