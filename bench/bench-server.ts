/**
 * A tiny TCP server for the latency / connection-rate / idle-connection benchmarks, over
 * Node's `net` (--kernel) or our stack (environment as in stack-adapter.ts stackEnv()).
 *
 *   node --expose-gc dist/bench/bench-server.js echo|rr|hold PORT [--kernel]
 *
 *   echo  echo every byte back (TCP_NODELAY)
 *   rr    read a request, reply one byte, close (the connection-rate server)
 *   hold  accept and keep every connection (the memory-per-connection server)
 *
 * Prints "listening PORT" once bound. Reads commands on stdin, one per line:
 *   stats  -> one JSON line: connections held, rss, heapUsed, heapTotal, external, arrayBuffers,
 *             physical bytes per V8 heap space (after gc())
 * On our stack, SIGTERM/SIGINT first print the stack's counters as one line "stats {JSON}"
 * (as bench/iperf3-stack.ts does), for bench/profile.ts.
 */
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics } from 'node:v8';
import type { NetLike } from '../src/iperf3/transport.js';
import { openStackNet } from './stack-adapter.js';

interface Sock {
  write(b: Uint8Array): boolean;
  end(b?: Uint8Array): void;
  on(ev: string, fn: (...a: any[]) => void): unknown;
  setNoDelay?(on?: boolean): unknown;
}

async function main(): Promise<void> {
  const [mode, portArg] = process.argv.slice(2);
  const kernel = process.argv.includes('--kernel');
  const port = Number(portArg);
  if (!['echo', 'rr', 'hold'].includes(mode ?? '') || !Number.isInteger(port)) {
    process.stderr.write('usage: bench-server echo|rr|hold PORT [--kernel]\n');
    process.exit(2);
  }
  let net: NetLike;
  let close = (): void => {};
  let stackStats: (() => unknown) | undefined;
  if (kernel) net = (await import('node:net')) as unknown as NetLike;
  else ({ net, close, stats: stackStats } = await openStackNet());

  let held = 0;
  const reply = Uint8Array.of(0x52);
  // Listeners are shared functions (an EventEmitter calls them with the socket as `this`):
  // no closure per connection, for Node's sockets and ours alike.
  const ignore = (): void => {};
  const onClose = (): void => void held--;
  const onData =
    mode === 'echo'
      ? function (this: Sock, d: Uint8Array): void {
          this.write(d);
        }
      : mode === 'rr'
        ? function (this: Sock): void {
            this.end(reply);
          }
        : ignore;
  const server = net.createServer((s: Sock) => {
    held++;
    s.setNoDelay?.(true);
    s.on('error', ignore);
    s.on('close', onClose);
    s.on('data', onData);
  });
  server.on('error', (e: Error) => {
    process.stderr.write(`bench-server: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write(`listening ${port}\n`));

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() !== 'stats') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    // Committed (physical) bytes per V8 heap space: where RSS beyond heapUsed sits (e.g. a
    // young generation grown under load), for the idle row's `extra`.
    const spaces: Record<string, number> = {};
    for (const sp of getHeapSpaceStatistics()) spaces[sp.space_name] = sp.physical_space_size;
    process.stdout.write(
      `${JSON.stringify({ connections: held, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spaces })}\n`,
    );
  });
  rl.on('close', () => {
    close();
    process.exit(0);
  });
  const quit = (): void => {
    if (stackStats !== undefined) process.stdout.write(`stats ${JSON.stringify(stackStats())}\n`);
    close();
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
