/**
 * Memory per idle connection: N connections between two stacks on the in-memory link and a
 * ManualClock (virtual time, one process), then the heap they hold, split by side.
 *
 *   npx vite-node bench/idle-conns.ts [-- --n 10000] [--layer tcp|bsd|stream] [--data] [--snapshot FILE]
 *   node dist/bench/idle-conns.js --n 10000 --layer stream
 *
 * Server side, by --layer (what holds each accepted connection):
 *   tcp     the TcpConnection from TcpListener.accept() with one shared handler
 *   bsd     a descriptor from SocketApi.accept() (TcpSock)
 *   stream  a TcpSocket (Node Duplex) from createNet().createServer(), set up like
 *           bench/bench-server.ts 'hold' (TCP_NODELAY, error/close/data listeners)
 * The client is a plain TcpLayer (TcpService.connect, one shared handler).
 *
 * --data: every client sends one 100-byte request after the handshake and the server reads it
 * (the buffers then have been used once and must have given their storage back).
 *
 * Method: gc(), heap + arrayBuffers (m0); open N connections (256 handshakes in flight); let
 * the delayed ACKs go; gc() (m1). Then cut the cable, abort every client connection (its
 * RSTs are lost, the server never learns), let 3 minutes of virtual time pass (stale timer
 * entries of the aborted connections go; an idle server connection has no timer armed) and
 * gc() again (m2). Server bytes per connection = (m2 - m0) / N, client bytes per connection =
 * (m1 - m2) / N. The layers' buffer pools (bounded caches of free buffer storage, shared by
 * all connections) are reported apart and not counted per connection. Prints one JSON object.
 * --snapshot FILE writes V8 heap snapshots at m0 (FILE.before) and m2 (FILE: server side only).
 */
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '../src/core/clock.js';
import { SeededRng } from '../src/core/rng.js';
import { memoryLinkPair } from '../src/link/memory.js';
import { SocketApi } from '../src/socket/bsd.js';
import { AF_INET, SOCK_STREAM } from '../src/socket/constants.js';
import { createNet, type TcpSocket } from '../src/socket/stream.js';
import { Stack } from '../src/stack.js';
import type { TcpConnection, TcpConnectionHandler } from '../src/tcp/api.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const N = Math.max(1, Math.min(25_000, Number(arg('n', '10000')) | 0));
const layer = arg('layer', 'tcp');
const withData = process.argv.includes('--data');
if (!['tcp', 'bsd', 'stream'].includes(layer)) throw new Error(`--layer tcp|bsd|stream, not ${layer}`);

const PORT = 7021;
const IN_FLIGHT = 256;
const REQUEST = new Uint8Array(100).fill(0x71);

interface Mem {
  heap: number;
  ab: number;
  pools: number;
}

async function main(): Promise<void> {
  const clock = new ManualClock(0);
  const [la, lb] = memoryLinkPair(clock, { mtu: 1500 });
  const client = new Stack({ link: la, clock, rng: new SeededRng(1), addr: '10.77.0.1/24', mac: '02:00:00:00:00:01' });
  const server = new Stack({ link: lb, clock, rng: new SeededRng(2), addr: '10.77.0.2/24', mac: '02:00:00:00:00:02' });
  const measure = async (): Promise<Mem> => {
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    const m = process.memoryUsage();
    const pools = client.tcp.bufferPool.bytes + server.tcp.bufferPool.bytes;
    return { heap: m.heapUsed, ab: m.arrayBuffers - pools, pools };
  };
  const tick = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await new Promise((r) => setImmediate(r)); // stream/socket layers use nextTick and promises
  };

  // ---- server side
  const held: unknown[] = [];
  let accepted = 0;
  const sink = new Uint8Array(4096);
  const noop = (): void => {};
  if (layer === 'tcp') {
    const b = server.tcp.bind(server.addr, PORT, true);
    if (typeof b === 'string') throw new Error(b);
    const l = server.tcp.listen(server.addr, PORT, 4096);
    if (typeof l === 'string') throw new Error(l);
    const conns: TcpConnection[] = [];
    // One handler object for every connection: it reads from whichever became readable.
    const h: TcpConnectionHandler = {
      connected: noop,
      readable: () => {
        for (const c of conns) while (c.read(sink) > 0) {}
      },
      writable: noop,
      error: noop,
      closed: noop,
    };
    l.setHandler({
      acceptable: () => {
        for (let c = l.accept(); c !== undefined; c = l.accept()) {
          c.setHandler(h);
          conns.push(c);
          accepted++;
        }
      },
    });
    held.push(conns);
  } else if (layer === 'bsd') {
    const sys = new SocketApi({ tcp: server.tcp, clock, localAddr: server.addr, maxFds: N + 64 });
    const fd = sys.socket(AF_INET, SOCK_STREAM, 0);
    sys.bind(fd, { addr: 0, port: PORT });
    sys.listen(fd, 4096);
    const fds: number[] = [];
    const loop = async (): Promise<void> => {
      for (;;) {
        const cfd = await sys.accept(fd).catch(() => -1);
        if (cfd < 0) return;
        fds.push(cfd);
        accepted++;
        if (withData) void sys.read(cfd, sink).catch(noop);
      }
    };
    void loop();
    held.push(sys, fds);
  } else {
    const net = createNet({ tcp: server.tcp, clock, localAddr: server.addr });
    const socks: TcpSocket[] = [];
    // As bench/bench-server.ts 'hold' does for every connection.
    const onClose = (): void => void accepted--;
    const srv = net.createServer((s) => {
      socks.push(s);
      accepted++;
      s.setNoDelay(true);
      s.on('error', noop);
      s.on('close', onClose);
      s.on('data', noop);
    });
    srv.listen(PORT, '0.0.0.0');
    held.push(srv, socks);
  }
  await tick(1);

  // Warm up: one connection resolves ARP and loads the code paths, then closes.
  {
    const c = client.tcp.connect(client.addr, 0, server.addr, PORT, { connected: noop, readable: noop, writable: noop, error: noop, closed: noop });
    if (typeof c === 'string') throw new Error(c);
    for (let i = 0; i < 100 && c.state !== 'ESTABLISHED'; i++) await tick(1);
    c.abort();
    for (let i = 0; i < 10; i++) await tick(1);
    accepted = 0;
  }
  const m0 = await measure();
  const snap = arg('snapshot', '');
  if (snap !== '') writeHeapSnapshot(`${snap}.before`);
  const t0 = performance.now();

  // ---- open N connections, IN_FLIGHT handshakes at a time
  const clientConns: TcpConnection[] = [];
  let established = 0;
  const ch: TcpConnectionHandler = { connected: () => void established++, readable: noop, writable: noop, error: noop, closed: noop };
  let steps = 0;
  while (established < N && steps < 200_000) {
    while (clientConns.length < N && clientConns.length - established < IN_FLIGHT) {
      const c = client.tcp.connect(client.addr, 0, server.addr, PORT, ch);
      if (typeof c === 'string') throw new Error(`connect #${clientConns.length}: ${c}`);
      clientConns.push(c);
    }
    await tick(1);
    steps++;
  }
  if (withData) for (const c of clientConns) c.write(REQUEST);
  // Let the accepts, the requests, the delayed ACKs go (and nothing else: no keepalive).
  for (let i = 0; i < 200 && accepted < N; i++) await tick(1);
  for (let i = 0; i < 10; i++) await tick(50);
  const wallMs = performance.now() - t0;
  const m1 = await measure();

  // ---- isolate the server: cut the cable, abort every client connection (the RSTs are lost)
  la.close();
  for (const c of clientConns) c.abort();
  const clientLeft = client.tcp.connections().length;
  clientConns.length = 0;
  for (let i = 0; i < 180; i++) await tick(1000);
  const m2 = await measure();
  if (snap !== '') writeHeapSnapshot(snap);

  const serverConns = server.tcp.connections();
  const states: Record<string, number> = {};
  for (const c of serverConns) states[c.state] = (states[c.state] ?? 0) + 1;
  const per = (a: number, b: number): number => Math.round((a - b) / N);
  const out = {
    bench: 'idle-conns',
    node: process.version,
    layer,
    data: withData,
    connections: N,
    clientEstablished: established,
    serverAccepted: accepted,
    serverStates: states,
    clientLeftAfterAbort: clientLeft,
    bufferPoolBytes: { atM1: m1.pools, atM2: m2.pools },
    virtualMs: clock.now(),
    wallMs: Math.round(wallMs),
    server: {
      bytesPerConn: per(m2.heap + m2.ab, m0.heap + m0.ab),
      heapPerConn: per(m2.heap, m0.heap),
      arrayBuffersPerConn: per(m2.ab, m0.ab),
    },
    client: {
      bytesPerConn: per(m1.heap + m1.ab, m2.heap + m2.ab),
      heapPerConn: per(m1.heap, m2.heap),
      arrayBuffersPerConn: per(m1.ab, m2.ab),
    },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  if (held.length < 0) process.stdout.write('unreachable\n'); // keep `held` alive until here
  client.close();
  server.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`idle-conns: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
