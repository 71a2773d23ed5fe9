/**
 * The Node stream adapter (createServer/connect, TcpSocket Duplex) over the fake
 * TcpService, on virtual time: events, backpressure both ways, half-close, errors.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { createNet, type TcpSocket } from '../../src/socket/index.js';
import { drive, driveUntil, settle } from '../helpers/socket-drive.js';
import { FakeTcpNet, type FakeConn } from '../helpers/socket-fake-tcp.js';

const A = 0x0a4d0001;
const B = 0x0a4d0002;

function setup() {
  const clock = new ManualClock();
  const fnet = new FakeTcpNet(clock);
  const ta = fnet.host(A);
  const tb = fnet.host(B);
  const client = createNet({ tcp: ta, clock, localAddr: A });
  const server = createNet({ tcp: tb, clock, localAddr: '10.77.0.2' });
  return { clock, fnet, ta, tb, client, server };
}

function collect(s: TcpSocket): { data: Buffer[]; text: () => string; ended: boolean } {
  const r = { data: [] as Buffer[], text: () => Buffer.concat(r.data).toString(), ended: false };
  s.on('data', (d: Buffer) => r.data.push(d));
  s.on('end', () => (r.ended = true));
  return r;
}

describe('createServer / connect', () => {
  it('echo over pipe; connect event; addresses on both sides', async () => {
    const env = setup();
    const accepted: TcpSocket[] = [];
    const srv = env.server.createServer((sock) => {
      accepted.push(sock);
      sock.pipe(sock);
    });
    srv.listen(9190);
    await drive(env.clock, once(srv, 'listening'));
    expect(srv.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: 9190 });
    let connected = false;
    const c = env.client.connect({ host: '10.77.0.2', port: 9190 }, () => (connected = true));
    expect(c.connecting).toBe(true);
    expect(c.readyState).toBe('opening');
    const got = collect(c);
    c.write('hello ');
    c.end('world');
    await drive(env.clock, once(c, 'close'));
    expect(connected).toBe(true);
    expect(got.text()).toBe('hello world');
    expect(got.ended).toBe(true);
    expect(c.remoteAddress).toBe('10.77.0.2');
    expect(c.remotePort).toBe(9190);
    expect(c.localAddress).toBe('10.77.0.1');
    const s = accepted[0]!;
    expect(s.remoteAddress).toBe('10.77.0.1');
    expect(s.remotePort).toBe(c.localPort);
    expect(s.localPort).toBe(9190);
    expect(s.bytesRead).toBe(11);
    expect(c.bytesWritten).toBe(11);
  });

  it('ECONNREFUSED is an error event with Node-style fields', async () => {
    const env = setup();
    const c = env.client.connect(9999, '10.77.0.2');
    let closed = false;
    c.on('close', () => (closed = true));
    const [err] = (await drive(env.clock, once(c, 'error'))) as [Error & { code: string; syscall: string; address: string; port: number }];
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.syscall).toBe('connect');
    expect(err.message).toBe('connect ECONNREFUSED 10.77.0.2:9999');
    expect(err.address).toBe('10.77.0.2');
    expect(err.port).toBe(9999);
    await driveUntil(env.clock, () => closed);
    const bad = env.client.connect({ host: 'example.com', port: 80 });
    const [e2] = (await drive(env.clock, once(bad, 'error'))) as [{ code: string }];
    expect(e2.code).toBe('EINVAL');
  });

  it('listen on a taken port emits EADDRINUSE', async () => {
    const env = setup();
    env.server.createServer().listen(9190);
    const second = env.server.createServer().listen(9190);
    const [err] = (await drive(env.clock, once(second, 'error'))) as [{ code: string; message: string }];
    expect(err.code).toBe('EADDRINUSE');
    expect(err.message).toBe('listen EADDRINUSE 0.0.0.0:9190');
  });

  it('server.close() stops accepting and emits close after the last connection closes', async () => {
    const env = setup();
    const socks: TcpSocket[] = [];
    let listening = false;
    const srv = env.server.createServer((s) => socks.push(s)).listen(() => (listening = true)); // port 0
    await driveUntil(env.clock, () => listening);
    const port = srv.address()!.port;
    expect(port).toBeGreaterThanOrEqual(32768);
    const c = env.client.connect(port, '10.77.0.2');
    await drive(env.clock, once(c, 'connect'));
    await driveUntil(env.clock, () => socks.length === 1);
    let closed = false;
    srv.close(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    expect(srv.listening).toBe(false);
    c.end();
    socks[0]!.resume();
    await driveUntil(env.clock, () => closed);
    const late = env.client.connect(port, '10.77.0.2');
    const [err] = (await drive(env.clock, once(late, 'error'))) as [{ code: string }];
    expect(err.code).toBe('ECONNREFUSED');
  });
});

describe('flow control', () => {
  it('write() returns false once the TCP send buffer is full, and drain follows when the peer reads', async () => {
    const env = setup();
    const socks: TcpSocket[] = [];
    env.server.createServer((s) => {
      s.pause();
      socks.push(s);
    }).listen(9190);
    const c = env.client.connect(9190, '10.77.0.2');
    await drive(env.clock, once(c, 'connect'));
    await driveUntil(env.clock, () => socks.length === 1);
    const conn = [...env.ta.conns][0] as FakeConn;
    const chunk = Buffer.alloc(1000, 0x61);
    let writes = 0;
    while (c.write(chunk)) {
      writes++;
      if (writes > 1000) throw new Error('write() never returned false');
    }
    // Past the stream's high-water mark only because TCP stopped taking data.
    expect(conn.writableLength).toBe(0);
    expect(c.writableLength).toBeGreaterThanOrEqual(16 * 1024);
    // Let the fake deliver what fits in the peer window (4 KB), then nothing moves: the peer is paused.
    for (let i = 0; i < 50; i++) {
      await settle();
      env.clock.step();
    }
    let drained = false;
    c.once('drain', () => (drained = true));
    expect(drained).toBe(false);
    const got = collect(socks[0]!);
    socks[0]!.resume(); // paused explicitly: a 'data' listener alone does not resume
    await driveUntil(env.clock, () => drained);
    await driveUntil(env.clock, () => Buffer.concat(got.data).length === (writes + 1) * 1000);
  });

  it('a paused reader closes the window: the sender stops at send buffer + peer buffer', async () => {
    const env = setup();
    const socks: TcpSocket[] = [];
    env.server.createServer((s) => {
      s.pause();
      socks.push(s);
    }).listen(9190);
    const c = env.client.connect(9190, '10.77.0.2');
    await drive(env.clock, once(c, 'connect'));
    c.write(Buffer.alloc(100_000));
    for (let i = 0; i < 200; i++) {
      await settle();
      env.clock.step();
    }
    const sconn = [...env.tb.conns][0] as FakeConn;
    // The paused stream pulled at most its high-water mark; TCP holds the rest of the window.
    expect(socks[0]!.readableLength).toBeLessThanOrEqual(16 * 1024 + 64 * 1024);
    expect(sconn.readableLength).toBe(4096);
    expect(c.bytesWritten).toBeLessThan(100_000);
    const got = collect(socks[0]!);
    socks[0]!.resume();
    await driveUntil(env.clock, () => Buffer.concat(got.data).length === 100_000);
  });
});

describe('half-close and teardown', () => {
  it('allowHalfOpen: the server still writes after the client end(); the client reads it, then end', async () => {
    const env = setup();
    env.server
      .createServer({ allowHalfOpen: true }, (s) => {
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => {
          s.write(`got ${Buffer.concat(parts).length} bytes; Thank you`);
          s.end();
        });
      })
      .listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190, allowHalfOpen: true });
    const got = collect(c);
    c.end(Buffer.alloc(5000));
    await drive(env.clock, once(c, 'close'));
    expect(got.text()).toBe('got 5000 bytes; Thank you');
    expect(got.ended).toBe(true);
  });

  it('without allowHalfOpen the server side ends when the client ends', async () => {
    const env = setup();
    let serverFinished = false;
    env.server.createServer((s) => {
      s.resume();
      s.on('finish', () => (serverFinished = true));
    }).listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190 });
    const got = collect(c);
    c.end('bye');
    await drive(env.clock, once(c, 'close'));
    expect(serverFinished).toBe(true);
    expect(got.ended).toBe(true);
  });

  it('resetAndDestroy: the peer gets ECONNRESET', async () => {
    const env = setup();
    const socks: TcpSocket[] = [];
    env.server.createServer((s) => socks.push(s)).listen(9190);
    const c = env.client.connect(9190, '10.77.0.2');
    await drive(env.clock, once(c, 'connect'));
    await driveUntil(env.clock, () => socks.length === 1);
    socks[0]!.resetAndDestroy();
    const [err] = (await drive(env.clock, once(c, 'error'))) as [{ code: string; syscall: string }];
    expect(err.code).toBe('ECONNRESET');
    expect(err.syscall).toBe('read');
  });

  it('setNoDelay / setKeepAlive reach the connection; setTimeout fires on the stack clock', async () => {
    const env = setup();
    env.server.createServer(() => {}).listen(9190);
    const c = env.client.connect(9190, '10.77.0.2');
    c.setNoDelay(true);
    await drive(env.clock, once(c, 'connect'));
    const conn = [...env.ta.conns][0] as FakeConn;
    expect(conn.options.noDelay).toBe(true);
    c.setKeepAlive(true, 30_000);
    expect(conn.options).toMatchObject({ keepAlive: true, keepIdle: 30 });
    const t0 = env.clock.now();
    c.setTimeout(5000);
    await drive(env.clock, once(c, 'timeout'));
    expect(env.clock.now() - t0).toBe(5000);
    c.destroy();
  });
});
