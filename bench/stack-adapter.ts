/**
 * The one place the benchmarks touch our stack. Everything is imported dynamically inside
 * try/catch, so the suite runs end to end (with "not available" rows) while the stack, the
 * socket layer or the TAP addon are missing or broken.
 *
 * Expected API (src/stack.ts, src/socket/stream.ts):
 *   openStackFromEnv(): Promise<Stack>    a stack on the TAP named by TCPIP_TAP/TCPIP_NETNS/TCPIP_ADDR
 *   new Stack({ link, clock, rng, addr, mac })
 *   createNet({ tcp, clock, localAddr }).createServer(listener)   Node-like Duplex sockets
 *   stack.tcp.bind / listen / connect, TcpConnection.read / write  (src/tcp/api.ts)
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetLike } from '../src/iperf3/transport.js';

/** Repository root, from dist/bench/ or bench/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../..');
}

export type Availability = { ok: true } | { ok: false; reason: string };

/**
 * Can our stack serve on a TAP? Checks that the modules load and export what we need and
 * that the native TAP addon is built. Does not open anything.
 */
export async function stackAvailable(): Promise<Availability> {
  try {
    const stack = (await import('../src/stack.js')) as Record<string, unknown>;
    const stream = (await import('../src/socket/stream.js')) as Record<string, unknown>;
    if (typeof stack['openStackFromEnv'] !== 'function' || typeof stack['Stack'] !== 'function') {
      return { ok: false, reason: 'src/stack.ts does not export Stack/openStackFromEnv yet' };
    }
    if (typeof stream['createNet'] !== 'function') return { ok: false, reason: 'src/socket/stream.ts does not export createNet yet' };
  } catch (e) {
    return { ok: false, reason: `stack modules do not load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!existsSync(join(repoRoot(), 'build', 'Release', 'tap.node'))) return { ok: false, reason: 'native TAP addon not built (npm run build)' };
  return { ok: true };
}

/**
 * Environment for a child process that opens our stack on the bench TAP. `offload` sets
 * TCPIP_OFFLOAD (TSO/GSO/GRO through the TAP's virtio_net_hdr; default on, as the stack's).
 */
export function stackEnv(opts: { netns: string; tap: string; addrCidr: string; mac: string; offload?: boolean }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TCPIP_NETNS: opts.netns,
    TCPIP_TAP: opts.tap,
    TCPIP_ADDR: opts.addrCidr,
    TCPIP_MAC: opts.mac,
    TCPIP_DEBUG: '',
    TCPIP_OFFLOAD: opts.offload === false ? '0' : '1',
  };
}

/**
 * In a child process started with stackEnv(): our stack as a `net`-like module, and its closer.
 * TCPIP_BENCH_TCP (JSON, e.g. '{"minRto":200}') overrides TcpConfig fields, for experiments
 * (bench/profile.ts --tcp); the suite never sets it.
 */
export async function openStackNet(): Promise<{ net: NetLike; close: () => void; stats: () => unknown }> {
  const { openStackFromEnv } = await import('../src/stack.js');
  const { createNet } = await import('../src/socket/stream.js');
  const tcpJson = process.env['TCPIP_BENCH_TCP'];
  const stack = await openStackFromEnv(tcpJson !== undefined && tcpJson !== '' ? { tcp: JSON.parse(tcpJson) as Record<string, unknown> } : {});
  return {
    net: createNet({ tcp: stack.tcp, clock: stack.clock, localAddr: stack.addr }) as unknown as NetLike,
    close: () => stack.close(),
    stats: () => stack.stats(),
  };
}

export interface MemoryResult {
  bytes: number;
  seconds: number;
  gbps: number;
  /** Virtual time that passed (ms): how long the transfer "took" on the simulated wire. */
  virtualMs: number;
}

/**
 * Our stack <-> our stack on one thread over the in-memory link: A writes as fast as its
 * send buffer takes data, B reads everything, the ManualClock delivers frames and fires
 * timers, for `seconds` of wall time. The figure is pure stack CPU cost per byte: no
 * kernel, no TAP, no event loop.
 */
export async function memoryThroughput(mtu: number, seconds: number): Promise<MemoryResult> {
  const { Stack } = await import('../src/stack.js');
  const { ManualClock } = await import('../src/core/clock.js');
  const { SeededRng } = await import('../src/core/rng.js');
  const { memoryLinkPair } = await import('../src/link/memory.js');
  const clock = new ManualClock(0);
  const [la, lb] = memoryLinkPair(clock, { mtu });
  const a = new Stack({ link: la, clock, rng: new SeededRng(1), addr: '10.77.0.1/24', mac: '02:00:00:00:00:01' });
  const b = new Stack({ link: lb, clock, rng: new SeededRng(2), addr: '10.77.0.2/24', mac: '02:00:00:00:00:02' });
  try {
    const port = 5001;
    const bound = b.tcp.bind(b.addr, port, true);
    if (typeof bound === 'string') throw new Error(`bind: ${bound}`);
    const listener = b.tcp.listen(b.addr, port, 8);
    if (typeof listener === 'string') throw new Error(`listen: ${listener}`);
    const noop = (): void => {};
    const conn = a.tcp.connect(a.addr, 0, b.addr, port, { connected: noop, readable: noop, writable: noop, error: noop, closed: noop });
    if (typeof conn === 'string') throw new Error(`connect: ${conn}`);
    let server = listener.accept();
    for (let i = 0; i < 10_000 && (server === undefined || conn.state !== 'ESTABLISHED'); i++) {
      if (!clock.step()) break;
      server ??= listener.accept();
    }
    if (server === undefined || conn.state !== 'ESTABLISHED') throw new Error(`handshake did not complete (client ${conn.state})`);
    server.setHandler({ connected: noop, readable: noop, writable: noop, error: noop, closed: noop });
    const block = new Uint8Array(256 * 1024).fill(0x61);
    const sink = new Uint8Array(256 * 1024);
    let received = 0;
    const v0 = clock.now();
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    let idle = 0;
    for (let step = 0; ; step++) {
      while (conn.write(block) > 0) {}
      let n: number;
      let got = 0;
      while ((n = server.read(sink)) > 0) got += n;
      received += got;
      idle = got > 0 ? 0 : idle + 1;
      if (!clock.step() || idle > 100_000) throw new Error(`transfer stalled after ${received} bytes (client ${conn.state})`);
      if ((step & 255) === 0 && performance.now() >= deadline) break;
    }
    const secs = (performance.now() - t0) / 1000;
    return { bytes: received, seconds: secs, gbps: (received * 8) / secs / 1e9, virtualMs: clock.now() - v0 };
  } finally {
    a.close();
    b.close();
  }
}
