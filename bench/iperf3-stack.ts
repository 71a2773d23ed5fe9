/**
 * Our iperf3 server on the stack (as examples/iperf3_server.ts without --kernel), for
 * bench/profile.ts: the environment of stack-adapter.ts stackEnv() names the TAP. On
 * SIGTERM/SIGINT it prints the stack's counters as one JSON line on stdout (prefixed
 * "stats ") before exiting, so a profiling run can relate CPU time to frames and ACKs.
 *
 *   node [--cpu-prof --cpu-prof-dir D] dist/bench/iperf3-stack.js PORT
 */
import { RealClock } from '../src/core/clock.js';
import { Iperf3Server } from '../src/iperf3/server.js';
import { netLikeTransport } from '../src/iperf3/transport.js';
import { openStackNet } from './stack-adapter.js';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 5201);
  const { net, close, stats } = await openStackNet();
  const clock = new RealClock();
  const server = new Iperf3Server({
    transport: netLikeTransport(net),
    clock,
    defer: (fn) => setImmediate(fn),
    cpuUsage: () => process.cpuUsage(),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const quit = (): void => {
    process.stdout.write(`stats ${JSON.stringify(stats())}\n`);
    server.close();
    close();
    clock.close();
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  const bound = await server.listen(port, undefined);
  process.stdout.write(`Server listening on ${bound}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`iperf3-stack: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
