/**
 * An iperf3 server (`iperf3 -s` for TCP tests) on our stack, or on kernel sockets for
 * comparison. The unmodified iperf3 client talks to it: `iperf3 -c <addr> [-R] [-P n] [-t s]`.
 *
 *   node dist/examples/iperf3_server.js [-p port] [-B addr] [--kernel] [-1] [--json]
 *
 *   -p, --port N     port (default 5201)
 *   -B, --bind A     listen address (default 0.0.0.0)
 *   --kernel         use Node's `net` (kernel TCP) instead of our stack
 *   -1, --one-off    exit after one test
 *   --json           print each test's report as one JSON line on stdout
 *
 * Without --kernel the stack comes from the environment (TCPIP_TAP, TCPIP_NETNS,
 * TCPIP_ADDR, ... see openStackFromEnv in src/stack.ts). "Server listening on <port>" is
 * printed once the port is bound.
 */
import { RealClock } from '../src/core/clock.js';
import { Iperf3Server, type TestReport } from '../src/iperf3/server.js';
import { DEFAULT_PORT } from '../src/iperf3/protocol.js';
import { netLikeTransport, type Iperf3Transport } from '../src/iperf3/transport.js';

interface Args {
  port: number;
  bind: string | undefined;
  kernel: boolean;
  oneOff: boolean;
  json: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`iperf3_server: ${msg}\nusage: iperf3_server [-p port] [-B addr] [--kernel] [-1] [--json]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { port: DEFAULT_PORT, bind: undefined, kernel: false, oneOff: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === '-p' || arg === '--port') {
      a.port = Number(value());
      if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) usage(`bad port ${argv[i]}`);
    } else if (arg === '-B' || arg === '--bind') a.bind = value();
    else if (arg === '--kernel') a.kernel = true;
    else if (arg === '-1' || arg === '--one-off') a.oneOff = true;
    else if (arg === '--json') a.json = true;
    else if (arg === '-h' || arg === '--help') usage('help');
    else usage(`unknown option ${arg}`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let transport: Iperf3Transport;
  let what: string;
  let closeStack: () => void = () => {};
  const clock = new RealClock();
  if (args.kernel) {
    transport = netLikeTransport(await import('node:net'));
    what = 'kernel sockets (node:net)';
  } else {
    const { openStackFromEnv } = await import('../src/stack.js');
    const { createNet } = await import('../src/socket/stream.js');
    const stack = await openStackFromEnv();
    closeStack = () => stack.close();
    transport = netLikeTransport(createNet({ tcp: stack.tcp, clock: stack.clock, localAddr: stack.addr }));
    what = `our stack (${process.env['TCPIP_ADDR'] ?? '10.77.0.2/24'} on ${process.env['TCPIP_TAP'] ?? 'tcpip0'})`;
  }
  let server: Iperf3Server | undefined = undefined;
  const shutdown = (code: number): void => {
    server?.close();
    closeStack();
    clock.close();
    process.exit(code);
  };
  server = new Iperf3Server({
    transport,
    clock,
    defer: (fn) => setImmediate(fn),
    cpuUsage: () => process.cpuUsage(),
    log: (line) => process.stderr.write(`${line}\n`),
    onTestDone: (r: TestReport) => {
      if (args.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      if (args.oneOff) setImmediate(() => shutdown(r.ok ? 0 : 1));
    },
  });
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  const port = await server.listen(args.port, args.bind);
  process.stdout.write(`Server listening on ${port} over ${what}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`iperf3_server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
