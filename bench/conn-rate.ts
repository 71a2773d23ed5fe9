/**
 * Connection rate on virtual time: a client stack and a server stack on the in-memory link
 * and a ManualClock, in one process. Each connection: the client connects, sends a 1-byte
 * request, reads the 1-byte reply and the server's FIN, closes (the connection-rate case of
 * `npm run bench`, where the server closes first and holds the TIME-WAIT).
 *
 *   npx vite-node bench/conn-rate.ts [-- --n 20000] [--conc 16] [--layer tcp|bsd|stream]
 *   node --cpu-prof dist/bench/conn-rate.js --layer stream       (where does the time go?)
 *
 * Server side, by --layer: `tcp` (TcpListener/TcpConnection directly), `bsd` (SocketApi:
 * accept, read, write, close), `stream` (createNet server: on 'data', end(reply), like
 * bench/bench-server.ts rr). The client is a plain TcpLayer in every case.
 *
 * The figure is connections per second of process CPU time for BOTH stacks (client and
 * server run on the same thread); `serverCpuShare` estimates the server's part by timing
 * the frames delivered to it. Afterwards, the memory the server's TIME-WAIT connections hold:
 * heap after gc() with them, minus heap after 2*MSL more of virtual time (they expired),
 * per TIME-WAIT connection. Prints one JSON object.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '../src/core/clock.js';
import { SeededRng } from '../src/core/rng.js';
import { memoryLinkPair } from '../src/link/memory.js';
import type { LinkReceiver } from '../src/link/link.js';
import { SocketApi } from '../src/socket/bsd.js';
import { AF_INET, SOCK_STREAM } from '../src/socket/constants.js';
import { createNet } from '../src/socket/stream.js';
import { Stack } from '../src/stack.js';
import type { TcpConnection, TcpConnectionHandler } from '../src/tcp/api.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const N = Math.max(1, Math.min(1_000_000, Number(arg('n', '20000')) | 0));
const CONC = Math.max(1, Math.min(4096, Number(arg('conc', '16')) | 0));
const layer = arg('layer', 'stream');
if (!['tcp', 'bsd', 'stream'].includes(layer)) throw new Error(`--layer tcp|bsd|stream, not ${layer}`);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const PORT = 7011;
const REQUEST = Uint8Array.of(0x72);
const REPLY = Uint8Array.of(0x52);

async function main(): Promise<void> {
  const clock = new ManualClock(0);
  const [la, lb] = memoryLinkPair(clock, { mtu: 1500 });
  // Time what the server does with each frame it receives (its share of the CPU).
  let serverNs = 0n;
  const setReceiver = lb.setReceiver.bind(lb);
  lb.setReceiver = (r: LinkReceiver): void => {
    setReceiver({
      receive: (frame) => {
        const t = process.hrtime.bigint();
        r.receive(frame);
        serverNs += process.hrtime.bigint() - t;
      },
      batchEnd: () => {
        const t = process.hrtime.bigint();
        r.batchEnd?.();
        serverNs += process.hrtime.bigint() - t;
      },
    });
  };
  const client = new Stack({ link: la, clock, rng: new SeededRng(1), addr: '10.77.0.1/24', mac: '02:00:00:00:00:01' });
  const server = new Stack({ link: lb, clock, rng: new SeededRng(2), addr: '10.77.0.2/24', mac: '02:00:00:00:00:02' });
  const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));
  const asyncServer = layer !== 'tcp';
  const noop = (): void => {};

  // ---- server: read the request, reply one byte, close
  if (layer === 'tcp') {
    const b = server.tcp.bind(server.addr, PORT, true);
    if (typeof b === 'string') throw new Error(b);
    const l = server.tcp.listen(server.addr, PORT, 511);
    if (typeof l === 'string') throw new Error(l);
    const sink = new Uint8Array(64);
    l.setHandler({
      acceptable: () => {
        for (let c = l.accept(); c !== undefined; c = l.accept()) {
          const conn = c;
          const readable = (): void => {
            if (conn.read(sink) > 0 && conn.write(REPLY) === 1) conn.close();
            else if (conn.eof) conn.close();
          };
          conn.setHandler({ connected: noop, readable, writable: noop, error: noop, closed: noop });
          // The request may have arrived with the handshake's last ACK, before accept().
          if (conn.readableLength > 0) readable();
        }
      },
    });
  } else if (layer === 'bsd') {
    const sys = new SocketApi({ tcp: server.tcp, clock, localAddr: server.addr, maxFds: 65536 });
    const fd = sys.socket(AF_INET, SOCK_STREAM, 0);
    sys.bind(fd, { addr: 0, port: PORT });
    sys.listen(fd, 511);
    const serve = async (cfd: number): Promise<void> => {
      const buf = new Uint8Array(64);
      try {
        if ((await sys.read(cfd, buf)) > 0) await sys.write(cfd, REPLY);
      } finally {
        sys.close(cfd);
      }
    };
    void (async () => {
      for (;;) {
        const cfd = await sys.accept(fd);
        void serve(cfd).catch(noop);
      }
    })().catch(noop);
  } else {
    const net = createNet({ tcp: server.tcp, clock, localAddr: server.addr });
    net
      .createServer((s) => {
        s.setNoDelay(true);
        s.on('error', noop);
        s.on('data', () => s.end(REPLY));
      })
      .listen(PORT, '0.0.0.0');
  }
  await yieldNow();

  // ---- client: CONC connections in flight
  let budget = 0; // connections still to start
  let done = 0;
  let errors = 0;
  const buf = new Uint8Array(64);
  const open = (): void => {
    budget--;
    let c: TcpConnection | string;
    const h: TcpConnectionHandler = {
      connected: () => void (c as TcpConnection).write(REQUEST),
      readable: () => {
        const conn = c as TcpConnection;
        while (conn.read(buf) > 0) {}
        if (conn.eof) conn.close();
      },
      writable: noop,
      error: () => void errors++,
      closed: () => {
        done++;
        if (budget > 0) open();
      },
    };
    c = client.tcp.connect(client.addr, 0, server.addr, PORT, h);
    if (typeof c === 'string') throw new Error(`connect: ${c}`);
  };
  // Warm up (ARP, code paths), then measure.
  const run = async (count: number): Promise<void> => {
    const target = done + count;
    budget = count;
    for (let i = 0; i < CONC && budget > 0; i++) open();
    for (let steps = 0; done < target && steps < 50 * count + 10_000; steps++) {
      if (!clock.step()) clock.advance(1);
      if (asyncServer) await yieldNow();
    }
    if (done < target) throw new Error(`stalled: ${done} of ${target} connections done`);
  };
  await run(Math.min(500, N));
  const warm = done;
  serverNs = 0n;
  const v0 = clock.now();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(N);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const n = done - warm;
  const virtualMs = clock.now() - v0;
  const k = server.tcp.stats();
  // Memory of the server's TIME-WAIT connections: with them, then after they expired.
  const heapNow = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      await yieldNow();
      gc();
    }
    return process.memoryUsage().heapUsed;
  };
  const timeWait = server.tcp.diagnostics().timeWait;
  const h1 = await heapNow();
  for (let i = 0; i < 70; i++) {
    clock.advance(1000);
    await yieldNow();
  }
  const h2 = await heapNow();
  const timeWaitLeft = server.tcp.diagnostics().timeWait;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'conn-rate',
      node: process.version,
      layer,
      concurrency: CONC,
      connections: n,
      errors,
      perCpuSecond: Math.round(n / cpuS),
      perWallSecond: Math.round(n / wallS),
      cpuSeconds: Number(cpuS.toFixed(3)),
      serverCpuShare: Number((Number(serverNs) / 1e9 / cpuS).toFixed(2)),
      serverPerCpuSecond: Math.round(n / (Number(serverNs) / 1e9)),
      virtualMs,
      serverTimeWait: timeWait,
      serverTimeWaitBytesEach: timeWait > 0 ? Math.round((h1 - h2) / timeWait) : null,
      serverTimeWaitAfter70s: timeWaitLeft,
      serverCounters: { PassiveOpens: k.PassiveOpens, ListenDrops: k.ListenDrops, OutRsts: k.OutRsts, RetransSegs: k.RetransSegs },
      serverSegmentsPerConnection: { in: Number((k.InSegs / k.PassiveOpens).toFixed(2)), out: Number((k.OutSegs / k.PassiveOpens).toFixed(2)) },
    })}\n`,
  );
  client.close();
  server.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`conn-rate: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
