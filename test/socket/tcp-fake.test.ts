/**
 * The socket layer's TCP logic over a fake TcpService (test/helpers/socket-fake-tcp.ts):
 * descriptor handling, errno in each state, blocking vs non-blocking, poll/select,
 * shutdown and linger. The same calls over the real TCP engine are in tcp-sim.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import {
  F_GETFL,
  F_SETFL,
  FdSet,
  INADDR_ANY,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_WAITALL,
  O_NONBLOCK,
  O_RDWR,
  PF_INET,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_TYPE,
  SocketApi,
  TCP_CONGESTION,
  TCP_INFO,
  TCP_KEEPIDLE,
  TCP_MAXSEG,
  TCP_NODELAY,
  errnoName,
  sockaddr_in,
  type PollFd,
} from '../../src/socket/index.js';
import { drive, errnoOf, errnoOfSync, isPending } from '../helpers/socket-drive.js';
import { FakeTcpNet, type FakeConn } from '../helpers/socket-fake-tcp.js';

const A = 0x0a4d0001; // client host 10.77.0.1
const B = 0x0a4d0002; // server host 10.77.0.2
const NOBODY = 0x0a4d0063;

function setup() {
  const clock = new ManualClock();
  const net = new FakeTcpNet(clock);
  const ta = net.host(A);
  const tb = net.host(B);
  const cli = new SocketApi({ tcp: ta, clock, localAddr: A });
  const srv = new SocketApi({ tcp: tb, clock, localAddr: '10.77.0.2' });
  return { clock, net, ta, tb, cli, srv };
}

type Env = ReturnType<typeof setup>;

function listening(env: Env, port = 9190): number {
  const fd = env.srv.socket(PF_INET, SOCK_STREAM, 0);
  env.srv.bind(fd, { addr: INADDR_ANY, port });
  env.srv.listen(fd, 5);
  return fd;
}

async function connected(env: Env, port = 9190): Promise<{ lfd: number; sfd: number; cfd: number }> {
  const lfd = listening(env, port);
  const cfd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
  const acc = env.srv.accept(lfd);
  await drive(env.clock, env.cli.connect(cfd, { addr: '10.77.0.2', port }));
  const sfd = await drive(env.clock, acc);
  return { lfd, sfd, cfd };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array, n: number): string => new TextDecoder().decode(b.subarray(0, n));

describe('descriptors', () => {
  it('numbers sockets from 3, reuses the lowest free, and rejects bad arguments', () => {
    const { cli } = setup();
    expect(cli.socket(PF_INET, SOCK_STREAM, 0)).toBe(3);
    expect(cli.socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)).toBe(4);
    expect(cli.socket(PF_INET, SOCK_STREAM, 0)).toBe(5);
    cli.close(4);
    expect(cli.socket(PF_INET, SOCK_STREAM, 0)).toBe(4);
    expect(errnoOfSync(() => cli.socket(10, SOCK_STREAM, 0))).toBe('EAFNOSUPPORT');
    expect(errnoOfSync(() => cli.socket(PF_INET, 3, 0))).toBe('EINVAL');
    expect(errnoOfSync(() => cli.socket(PF_INET, SOCK_STREAM, 17))).toBe('EPROTONOSUPPORT');
    expect(errnoOfSync(() => cli.socket(PF_INET, SOCK_DGRAM, 0))).toBe('EPROTONOSUPPORT'); // no UDP layer given
    expect(errnoOfSync(() => cli.close(4 + 100))).toBe('EBADF');
    expect(errnoOfSync(() => cli.listen(0, 5))).toBe('ENOTSOCK');
    cli.close(3);
    expect(errnoOfSync(() => cli.close(3))).toBe('EBADF');
  });

  it('EMFILE when the table is full', () => {
    const clock = new ManualClock();
    const api = new SocketApi({ tcp: new FakeTcpNet(clock).host(A), clock, localAddr: A, maxFds: 6 });
    for (let i = 0; i < 3; i++) api.socket(PF_INET, SOCK_STREAM, 0);
    expect(errnoOfSync(() => api.socket(PF_INET, SOCK_STREAM, 0))).toBe('EMFILE');
    expect(api.openFds).toEqual([3, 4, 5]);
  });

  it('errors carry errno name, number and an actionable message', () => {
    const env = setup();
    listening(env, 9190);
    const fd = env.srv.socket(PF_INET, SOCK_STREAM, 0);
    try {
      env.srv.bind(fd, { addr: INADDR_ANY, port: 9190 });
      throw new Error('bind should fail');
    } catch (e) {
      const err = e as { code: string; errno: number; message: string };
      expect(err.code).toBe('EADDRINUSE');
      expect(err.errno).toBe(98);
      expect(err.message).toMatch(/^EADDRINUSE: bind\(fd 4, 0\.0\.0\.0:9190\): Address already in use/);
    }
  });
});

describe('TCP connection setup', () => {
  it('accept/connect; names on both ends; data both ways', async () => {
    const env = setup();
    const lfd = listening(env, 9190);
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    const clnt_adr = sockaddr_in();
    const acc = env.srv.accept(lfd, clnt_adr);
    expect(await isPending(acc)).toBe(true);
    await drive(env.clock, env.cli.connect(cfd, { addr: B, port: 9190 }));
    const sfd = await drive(env.clock, acc);
    expect(sfd).toBe(4);
    const cname = env.cli.getsockname(cfd);
    expect(cname.addr).toBe(A);
    expect(cname.port).toBeGreaterThanOrEqual(32768);
    expect(clnt_adr).toEqual({ family: PF_INET, addr: A, port: cname.port });
    expect(env.srv.getpeername(sfd)).toEqual(clnt_adr);
    expect(env.cli.getpeername(cfd)).toEqual({ family: PF_INET, addr: B, port: 9190 });
    expect(env.srv.getsockname(lfd)).toEqual({ family: PF_INET, addr: 0, port: 9190 });
    expect(await env.cli.write(cfd, 'hello')).toBe(5);
    const buf = new Uint8Array(100);
    expect(dec(buf, await drive(env.clock, env.srv.read(sfd, buf, 100)))).toBe('hello');
    expect(await env.srv.write(sfd, enc('world'))).toBe(5);
    expect(dec(buf, await drive(env.clock, env.cli.recv(cfd, buf, 3)))).toBe('wor');
    expect(dec(buf, await drive(env.clock, env.cli.read(cfd, buf)))).toBe('ld');
  });

  it('EADDRINUSE, bind twice EINVAL, foreign address EADDRNOTAVAIL, listen autobinds', () => {
    const env = setup();
    listening(env, 9190);
    const fd = env.srv.socket(PF_INET, SOCK_STREAM, 0);
    expect(errnoOfSync(() => env.srv.bind(fd, { addr: INADDR_ANY, port: 9190 }))).toBe('EADDRINUSE');
    expect(errnoOfSync(() => env.srv.bind(fd, { addr: NOBODY, port: 9191 }))).toBe('EADDRNOTAVAIL');
    expect(errnoOfSync(() => env.srv.bind(fd, { addr: 'not.an.ip', port: 9191 }))).toBe('EINVAL');
    env.srv.bind(fd, { addr: INADDR_ANY, port: 9191 });
    expect(errnoOfSync(() => env.srv.bind(fd, { addr: INADDR_ANY, port: 9192 }))).toBe('EINVAL');
    const auto = env.srv.socket(PF_INET, SOCK_STREAM, 0);
    env.srv.listen(auto, 5);
    expect(env.srv.getsockname(auto).port).toBeGreaterThanOrEqual(32768);
    expect(env.srv.getsockopt(auto, SOL_SOCKET, SO_ACCEPTCONN)).toBe(1);
    // close releases a bind that never listened
    env.srv.close(fd);
    const again = env.srv.socket(PF_INET, SOCK_STREAM, 0);
    env.srv.bind(again, { addr: INADDR_ANY, port: 9191 });
  });

  it('ECONNREFUSED from a closed port; the socket may connect again', async () => {
    const env = setup();
    const fd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    expect(await errnoOf(drive(env.clock, env.cli.connect(fd, { addr: B, port: 9999 })))).toBe('ECONNREFUSED');
    expect(env.cli.getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(0); // reported once
    listening(env, 9999);
    await drive(env.clock, env.cli.connect(fd, { addr: B, port: 9999 }));
    expect(env.cli.getpeername(fd).port).toBe(9999);
  });

  it('ETIMEDOUT when the SYN is never answered, after the TCP give-up time', async () => {
    const env = setup();
    const fd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    const t0 = env.clock.now();
    expect(await errnoOf(drive(env.clock, env.cli.connect(fd, { addr: NOBODY, port: 80 })))).toBe('ETIMEDOUT');
    expect(env.clock.now() - t0).toBe(env.net.synTimeoutMs);
  });

  it('state errors: EISCONN, EINVAL, ENOTCONN, EPIPE, EOPNOTSUPP', async () => {
    const env = setup();
    const { lfd, sfd, cfd } = await connected(env);
    const buf = new Uint8Array(10);
    expect(await errnoOf(env.cli.connect(cfd, { addr: B, port: 9190 }))).toBe('EISCONN');
    expect(await errnoOf(env.srv.connect(lfd, { addr: A, port: 1 }))).toBe('EISCONN');
    expect(errnoOfSync(() => env.cli.listen(cfd, 5))).toBe('EINVAL');
    expect(await errnoOf(env.srv.accept(sfd))).toBe('EINVAL');
    expect(await errnoOf(env.srv.read(lfd, buf))).toBe('ENOTCONN');
    expect(await errnoOf(env.srv.write(lfd, buf))).toBe('EPIPE'); // Linux says EPIPE here
    const fresh = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    expect(await errnoOf(env.cli.read(fresh, buf))).toBe('ENOTCONN');
    expect(await errnoOf(env.cli.write(fresh, buf))).toBe('EPIPE');
    expect(errnoOfSync(() => env.cli.getpeername(fresh))).toBe('ENOTCONN');
    expect(errnoOfSync(() => env.cli.shutdown(fresh, SHUT_WR))).toBe('ENOTCONN');
    expect(errnoOfSync(() => env.cli.shutdown(cfd, 7))).toBe('EINVAL');
    expect(await errnoOf(env.cli.connect(fresh, { addr: B, port: 0 }))).toBe('EINVAL');
    expect(await errnoOf(env.cli.recv(cfd, buf, 10, MSG_PEEK))).toBe('EOPNOTSUPP');
  });
});

describe('TCP data transfer', () => {
  it('read returns 0 at EOF, after the data that came before the FIN', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    await env.cli.write(cfd, 'last words');
    env.cli.close(cfd);
    const buf = new Uint8Array(100);
    expect(dec(buf, await drive(env.clock, env.srv.read(sfd, buf)))).toBe('last words');
    expect(await drive(env.clock, env.srv.read(sfd, buf))).toBe(0);
    expect(await env.srv.read(sfd, buf)).toBe(0);
  });

  it('a blocking write returns only when every byte is queued', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    const big = new Uint8Array(100_000).map((_, i) => i * 7);
    const w = env.cli.write(cfd, big);
    expect(await isPending(w)).toBe(true); // 4 KB send buffer, 4 KB peer window
    const got = new Uint8Array(big.length);
    let n = 0;
    while (n < big.length) n += await drive(env.clock, env.srv.read(sfd, got.subarray(n)));
    expect(await drive(env.clock, w)).toBe(big.length);
    expect(got).toEqual(big);
  });

  it('MSG_WAITALL waits for the full length; MSG_DONTWAIT does not wait', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    const buf = new Uint8Array(8);
    expect(await errnoOf(env.srv.recv(sfd, buf, 8, MSG_DONTWAIT))).toBe('EAGAIN');
    const r = env.srv.recv(sfd, buf, 8, MSG_WAITALL);
    await env.cli.write(cfd, 'abc');
    await drive(env.clock, env.cli.write(cfd, 'de'));
    expect(await isPending(r)).toBe(true);
    await env.cli.write(cfd, 'fghij');
    expect(dec(buf, await drive(env.clock, r))).toBe('abcdefgh');
  });

  it('close with unsent data still delivers it, then FIN (graceful)', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    const data = new Uint8Array(10_000).fill(0x5a);
    const w = env.cli.write(cfd, data);
    // Wait only until it is all queued, then close at once.
    const buf = new Uint8Array(20_000);
    let n = 0;
    const drain = (async () => {
      for (;;) {
        const k = await env.srv.read(sfd, buf.subarray(n));
        if (k === 0) return;
        n += k;
      }
    })();
    await drive(env.clock, w);
    env.cli.close(cfd);
    await drive(env.clock, drain);
    expect(n).toBe(10_000);
  });
});

describe('non-blocking mode', () => {
  it('fcntl O_NONBLOCK: EAGAIN for accept and read; EINPROGRESS, EALREADY, POLLOUT, SO_ERROR for connect', async () => {
    const env = setup();
    const lfd = listening(env);
    expect(env.srv.fcntl(lfd, F_GETFL)).toBe(O_RDWR);
    env.srv.fcntl(lfd, F_SETFL, env.srv.fcntl(lfd, F_GETFL) | O_NONBLOCK);
    expect(env.srv.fcntl(lfd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(await errnoOf(env.srv.accept(lfd))).toBe('EAGAIN');
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    expect(env.cli.fcntl(cfd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(await errnoOf(env.cli.connect(cfd, { addr: B, port: 9190 }))).toBe('EINPROGRESS');
    expect(await errnoOf(env.cli.connect(cfd, { addr: B, port: 9190 }))).toBe('EALREADY');
    const pfd: PollFd[] = [{ fd: cfd, events: POLLOUT, revents: 0 }];
    expect(await drive(env.clock, env.cli.poll(pfd, -1))).toBe(1);
    expect(pfd[0]!.revents).toBe(POLLOUT);
    expect(env.cli.getsockopt(cfd, SOL_SOCKET, SO_ERROR)).toBe(0);
    expect(await errnoOf(env.cli.connect(cfd, { addr: B, port: 9190 }))).toBe('EISCONN');
    const sfd = await env.srv.accept(lfd);
    expect(env.srv.fcntl(sfd, F_GETFL) & O_NONBLOCK).toBe(0); // not inherited (Linux)
    const buf = new Uint8Array(10);
    expect(await errnoOf(env.cli.read(cfd, buf))).toBe('EAGAIN');
  });

  it('a refused non-blocking connect: POLLERR|POLLHUP... and SO_ERROR = ECONNREFUSED', async () => {
    const env = setup();
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    expect(await errnoOf(env.cli.connect(cfd, { addr: B, port: 9999 }))).toBe('EINPROGRESS');
    const pfd: PollFd[] = [{ fd: cfd, events: POLLOUT, revents: 0 }];
    await drive(env.clock, env.cli.poll(pfd, -1));
    expect(pfd[0]!.revents & POLLERR).toBe(POLLERR);
    expect(errnoName(env.cli.getsockopt(cfd, SOL_SOCKET, SO_ERROR) as number)).toBe('ECONNREFUSED');
    expect(env.cli.getsockopt(cfd, SOL_SOCKET, SO_ERROR)).toBe(0);
  });

  it('a blocking read on a socket whose non-blocking connect fails gets the error, not a hang', async () => {
    const env = setup();
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    expect(await errnoOf(env.cli.connect(cfd, { addr: B, port: 9999 }))).toBe('EINPROGRESS');
    env.cli.fcntl(cfd, F_SETFL, 0);
    expect(await errnoOf(drive(env.clock, env.cli.read(cfd, new Uint8Array(4))))).toBe('ECONNREFUSED');
    expect(await errnoOf(env.cli.read(cfd, new Uint8Array(4)))).toBe('ENOTCONN');
  });

  it('a write into a full send buffer writes what fits and returns the count, then EAGAIN', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    env.cli.fcntl(cfd, F_SETFL, O_NONBLOCK);
    const big = new Uint8Array(6000);
    expect(await env.cli.write(cfd, big)).toBe(4096);
    expect(await errnoOf(env.cli.write(cfd, big))).toBe('EAGAIN');
    // The peer window (4096) fills, our buffer drains into it, and there is room again.
    const pfd: PollFd[] = [{ fd: cfd, events: POLLOUT, revents: 0 }];
    await drive(env.clock, env.cli.poll(pfd, -1));
    expect(await env.cli.write(cfd, big)).toBe(4096);
    expect(await errnoOf(env.cli.write(cfd, big))).toBe('EAGAIN');
    const buf = new Uint8Array(10_000);
    expect(await env.srv.read(sfd, buf)).toBe(4096);
  });
});

describe('poll and select', () => {
  it('reports listen POLLIN, data POLLIN, FIN POLLRDHUP, and times out on virtual time', async () => {
    const env = setup();
    const lfd = listening(env);
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    const fresh = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    const pl: PollFd[] = [{ fd: lfd, events: POLLIN, revents: 0 }];
    expect(await env.srv.poll(pl, 0)).toBe(0);
    const c = env.cli.connect(cfd, { addr: B, port: 9190 });
    expect(await drive(env.clock, env.srv.poll(pl, -1))).toBe(1);
    expect(pl[0]!.revents).toBe(POLLIN);
    await drive(env.clock, c);
    const sfd = await env.srv.accept(lfd);
    // A fresh socket polls POLLOUT|POLLHUP, like Linux.
    const pf: PollFd[] = [{ fd: fresh, events: POLLIN | POLLOUT, revents: 0 }];
    await env.cli.poll(pf, 0);
    expect(pf[0]!.revents).toBe(POLLOUT | POLLHUP);
    const ps: PollFd[] = [
      { fd: sfd, events: POLLIN | POLLRDHUP, revents: 0 },
      { fd: -1, events: POLLIN, revents: 99 },
      { fd: 77, events: POLLIN, revents: 0 },
    ];
    expect(await env.srv.poll(ps, 0)).toBe(1); // only the bad fd
    expect(ps[2]!.revents).toBe(POLLNVAL);
    expect(ps[1]!.revents).toBe(0);
    ps.splice(1, 2);
    const t0 = env.clock.now();
    expect(await drive(env.clock, env.srv.poll(ps, 500))).toBe(0);
    expect(env.clock.now() - t0).toBe(500);
    await env.cli.write(cfd, 'x');
    expect(await drive(env.clock, env.srv.poll(ps, -1))).toBe(1);
    expect(ps[0]!.revents).toBe(POLLIN);
    env.cli.shutdown(cfd, SHUT_WR);
    await drive(env.clock, env.srv.read(sfd, new Uint8Array(1)));
    await drive(env.clock, env.srv.poll(ps, 1000));
    expect(ps[0]!.revents).toBe(POLLIN | POLLRDHUP);
  });

  it('select reads and writes FdSets in place', async () => {
    const env = setup();
    const lfd = listening(env);
    const reads = new FdSet();
    reads.set(lfd);
    let cpy = reads.clone();
    expect(await drive(env.clock, env.srv.select(lfd + 1, cpy, null, null, 100))).toBe(0);
    expect(cpy.isSet(lfd)).toBe(false);
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    void env.cli.connect(cfd, { addr: B, port: 9190 });
    cpy = reads.clone();
    expect(await drive(env.clock, env.srv.select(lfd + 1, cpy, null, null, null))).toBe(1);
    expect(cpy.isSet(lfd)).toBe(true);
    const sfd = await env.srv.accept(lfd);
    const w = new FdSet();
    w.set(sfd);
    expect(await env.srv.select(sfd + 1, null, w, null, 0)).toBe(1);
    const bad = new FdSet();
    bad.set(50);
    expect(await errnoOf(env.srv.select(51, bad, null, null, 0))).toBe('EBADF');
  });
});

describe('shutdown, reset and close', () => {
  it('SHUT_WR: the peer reads EOF, our writes fail EPIPE, we still read', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    const buf = new Uint8Array(10);
    env.cli.shutdown(cfd, SHUT_WR);
    expect(await drive(env.clock, env.srv.read(sfd, buf))).toBe(0);
    expect(await errnoOf(env.cli.write(cfd, 'x'))).toBe('EPIPE');
    await env.srv.write(sfd, 'Thank you');
    expect(dec(buf, await drive(env.clock, env.cli.read(cfd, buf)))).toBe('Thank you');
  });

  it('SHUT_RD: a blocked read returns 0', async () => {
    const env = setup();
    const { cfd } = await connected(env);
    const r = env.cli.read(cfd, new Uint8Array(10));
    expect(await isPending(r)).toBe(true);
    env.cli.shutdown(cfd, SHUT_RD);
    expect(await r).toBe(0);
  });

  it('SO_LINGER {1, 0} aborts: the peer gets ECONNRESET once, then EOF; writes then EPIPE', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    env.cli.setsockopt(cfd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
    expect(env.cli.getsockopt(cfd, SOL_SOCKET, SO_LINGER)).toEqual({ l_onoff: 1, l_linger: 0 });
    const buf = new Uint8Array(10);
    const r = env.srv.read(sfd, buf);
    env.cli.close(cfd);
    expect(await errnoOf(drive(env.clock, r))).toBe('ECONNRESET');
    expect(await env.srv.read(sfd, buf)).toBe(0);
    expect(await errnoOf(env.srv.write(sfd, 'x'))).toBe('EPIPE');
    const p: PollFd[] = [{ fd: sfd, events: POLLIN | POLLOUT | POLLRDHUP, revents: 0 }];
    await env.srv.poll(p, 0);
    expect(p[0]!.revents).toBe(POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  });

  it('a write blocked on a reset connection fails with ECONNRESET', async () => {
    const env = setup();
    const { sfd, cfd } = await connected(env);
    const w = env.cli.write(cfd, new Uint8Array(50_000));
    await drive(env.clock, env.srv.read(sfd, new Uint8Array(10)));
    env.srv.setsockopt(sfd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
    env.srv.close(sfd);
    // Some bytes were queued before the reset, so the write reports how many; the error is next.
    const n = await drive(env.clock, w);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(50_000);
    expect(await errnoOf(env.cli.write(cfd, 'x'))).toBe('ECONNRESET');
    expect(await errnoOf(env.cli.write(cfd, 'x'))).toBe('EPIPE');
  });

  it('close while another call is blocked on the descriptor: EBADF', async () => {
    const env = setup();
    const lfd = listening(env);
    const a = env.srv.accept(lfd);
    env.srv.close(lfd);
    expect(await errnoOf(a)).toBe('EBADF');
  });

  it('SO_RCVTIMEO makes a blocking read fail EAGAIN after the timeout', async () => {
    const env = setup();
    const { cfd } = await connected(env);
    env.cli.setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, 250);
    const t0 = env.clock.now();
    expect(await errnoOf(drive(env.clock, env.cli.read(cfd, new Uint8Array(4))))).toBe('EAGAIN');
    expect(env.clock.now() - t0).toBe(250);
  });
});

describe('socket options', () => {
  it('stored before the connection, passed to it, inherited by accepted sockets', async () => {
    const env = setup();
    const lfd = env.srv.socket(PF_INET, SOCK_STREAM, 0);
    env.srv.setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, 1);
    env.srv.setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, 1);
    env.srv.setsockopt(lfd, SOL_SOCKET, SO_KEEPALIVE, true);
    env.srv.setsockopt(lfd, IPPROTO_TCP, TCP_KEEPIDLE, 60);
    env.srv.setsockopt(lfd, IPPROTO_TCP, TCP_CONGESTION, 'newreno');
    expect(env.srv.getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR)).toBe(1);
    expect(env.srv.getsockopt(lfd, IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    expect(env.srv.getsockopt(lfd, SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
    env.srv.bind(lfd, { addr: INADDR_ANY, port: 9190 });
    env.srv.listen(lfd, 5);
    const cfd = env.cli.socket(PF_INET, SOCK_STREAM, 0);
    env.cli.setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, 8192);
    env.cli.setsockopt(cfd, IPPROTO_TCP, TCP_MAXSEG, 1000);
    const acc = env.srv.accept(lfd);
    await drive(env.clock, env.cli.connect(cfd, { addr: B, port: 9190 }));
    const sfd = await drive(env.clock, acc);
    const conn = [...env.tb.conns][0] as FakeConn;
    expect(conn.options).toMatchObject({ noDelay: true, keepAlive: true, keepIdle: 60, congestion: 'newreno' });
    expect(env.srv.getsockopt(sfd, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(60);
    expect(env.srv.getsockopt(sfd, IPPROTO_TCP, TCP_CONGESTION)).toBe('newreno');
    expect(env.cli.getsockopt(cfd, SOL_SOCKET, SO_RCVBUF)).toBe(8192);
    expect(env.cli.getsockopt(cfd, IPPROTO_TCP, TCP_MAXSEG)).toBe(1000);
    // Changing an option on a live connection reaches the engine.
    env.srv.setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, 0);
    expect(conn.options.noDelay).toBe(false);
    expect((env.srv.getsockopt(sfd, IPPROTO_TCP, TCP_INFO) as { state: string }).state).toBe('ESTABLISHED');
  });

  it('rejects bad values and unknown options', () => {
    const { cli } = setup();
    const fd = cli.socket(PF_INET, SOCK_STREAM, 0);
    expect(errnoOfSync(() => cli.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, 'bbr'))).toBe('ENOENT');
    expect(errnoOfSync(() => cli.setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, 10))).toBe('EINVAL');
    expect(errnoOfSync(() => cli.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, -1))).toBe('EINVAL');
    expect(errnoOfSync(() => cli.setsockopt(fd, SOL_SOCKET, 999, 1))).toBe('ENOPROTOOPT');
    expect(errnoOfSync(() => cli.setsockopt(fd, SOL_SOCKET, SO_TYPE, 1))).toBe('ENOPROTOOPT');
    expect(errnoOfSync(() => cli.setsockopt(fd, 99, 1, 1))).toBe('ENOPROTOOPT');
    expect(errnoOfSync(() => cli.getsockopt(fd, IPPROTO_TCP, TCP_INFO))).toBe('ENOTCONN');
    expect(errnoOfSync(() => cli.fcntl(fd, 1234))).toBe('EINVAL');
  });
});
