/**
 * One throughput or connection-rate case of the suite, for looking inside: the same
 * namespaces, veth, bridge and TAP (topology.ts), our server on the stack (optionally under
 * `node --cpu-prof`), the real client, and afterwards the stack's counters, a summary of the
 * CPU profile and, on request, a packet capture on the client's veth.
 *
 *   node dist/bench/profile.js [--case tput|conn] [--dir k2s|s2k] [--offload on|off] [--loss P]
 *       [--seconds S] [--warmup S] [--runs N] [--prof DIR] [--pcap FILE] [--pcap-packets N]
 *       [--kernel | --node] [--top N] [--tcp JSON]
 *
 *   --case conn      the connection-rate case (suite.ts conn.*): bench-server.js rr on the
 *                    stack, the C client's connrate (16 in flight) for --warmup (default 2)
 *                    + --seconds; prints conn/s, the server's CPU per connection and the
 *                    stack's frames, flushes and segments per connection
 *   --dir k2s        kernel -> stack (iperf3 -c; default); s2k: stack -> kernel (iperf3 -R)
 *   --offload off    TSO/GSO/GRO off on every device and TCPIP_OFFLOAD=0 (the "off" rows)
 *   --loss P         P% random loss on the data direction (topology.ts setLoss)
 *   --prof DIR       run the stack server with --cpu-prof into DIR and print the top
 *                    functions by self time (and by total time for the stack's own files)
 *   --pcap FILE      tcpdump on the client veth (headers only, first --pcap-packets frames)
 *   --kernel         the kernel's server (iperf3, or the C rr server) instead of our stack
 *   --node           conn only: bench-server.js rr on Node's net (in the stk namespace)
 *   --tcp JSON       TcpConfig overrides for the stack, e.g. '{"minRto":200,"defaultRecvBuffer":1048576}'
 *
 * Needs root, iperf3 and (for --loss on a kernel without netem) nft, like the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCTools } from './c-tools.js';
import { cpuSecondsOf, cpuTimesOf, Procs, sleep, type Child } from './proc.js';
import { repoRoot, stackEnv } from './stack-adapter.js';
import { linkStats } from '../src/cli/netns.js';
import { buildTopology, CLI_ADDR, CLI_IF, destroyTopology, KERNEL_ADDR, offloadsOff, PREFIX, setLoss, STACK_ADDR, STACK_MAC, STK_IF, TAP, type Topology } from './topology.js';

interface Opts {
  case: 'tput' | 'conn';
  dir: 'k2s' | 's2k';
  offload: boolean;
  loss: number | undefined;
  seconds: number;
  runs: number;
  prof: string | undefined;
  pcap: string | undefined;
  pcapPackets: number;
  kernel: boolean;
  node: boolean;
  warmup: number;
  top: number;
  /** TcpConfig overrides for the stack (JSON), passed as TCPIP_BENCH_TCP. */
  tcp: string | undefined;
}

function parse(argv: string[]): Opts {
  const o: Opts = { case: 'tput', dir: 'k2s', offload: true, loss: undefined, seconds: 10, runs: 1, prof: undefined, pcap: undefined, pcapPackets: 200_000, kernel: false, node: false, warmup: 2, top: 30, tcp: undefined };
  let secondsSet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--case') {
      const c = v();
      if (c !== 'tput' && c !== 'conn') throw new Error('--case is tput or conn');
      o.case = c;
    } else if (a === '--dir') {
      const d = v();
      if (d !== 'k2s' && d !== 's2k') throw new Error('--dir is k2s or s2k');
      o.dir = d;
    } else if (a === '--offload') o.offload = v() !== 'off';
    else if (a === '--loss') o.loss = Number(v());
    else if (a === '--seconds') {
      o.seconds = Math.min(60, Math.max(1, Number(v())));
      secondsSet = true;
    } else if (a === '--warmup') o.warmup = Math.min(60, Math.max(0, Number(v())));
    else if (a === '--runs') o.runs = Math.min(9, Math.max(1, Number(v())));
    else if (a === '--prof') o.prof = v();
    else if (a === '--pcap') o.pcap = v();
    else if (a === '--pcap-packets') o.pcapPackets = Math.max(1, Number(v()));
    else if (a === '--kernel') o.kernel = true;
    else if (a === '--node') o.node = true;
    else if (a === '--top') o.top = Number(v());
    else if (a === '--tcp') o.tcp = v();
    else throw new Error(`unknown option ${a}`);
  }
  if (o.case === 'conn' && !secondsSet) o.seconds = 5;
  if (o.node && o.case !== 'conn') throw new Error('--node is for --case conn');
  return o;
}

interface ProfNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self and total time per function of a .cpuprofile, as printable lines. */
export function summarizeProfile(path: string, top: number): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map<number, ProfNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfNode): string => {
    const f = n.callFrame;
    const file = f.url === '' ? '' : ` ${f.url.replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')}:${f.lineNumber + 1}`;
    return `${f.functionName || '(anonymous)'}${file}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let sum = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    sum += dt;
    let n = byId.get(p.samples[i]!);
    if (n === undefined) continue;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (; n !== undefined; n = byId.get(parent.get(n.id) ?? -1)) {
      const kk = key(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const pct = (x: number): string => `${((100 * x) / sum).toFixed(1).padStart(5)}%`;
  const lines = [`profile ${path}: ${(sum / 1e6).toFixed(2)} s sampled`, '  self time:'];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('  total time (src/ and bench/ functions, natives):');
  const ours = [...total].filter(([k]) => / (src|bench|examples)\//.test(k) || !k.includes(' '));
  for (const [k, v] of ours.sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  const root = repoRoot();
  const procs = new Procs();
  let topo: Topology | undefined;
  let tcpdump: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (tcpdump !== undefined && tcpdump.exitCode === null) tcpdump.kill('SIGINT');
    await procs.killAll();
    if (topo !== undefined) destroyTopology(topo);
    topo = undefined;
  };
  // Interrupted or terminated: the namespaces go too (a SIGKILL leaves them: `ip netns list`).
  // Output piped into `head` that exits early must not kill us before the cleanup either.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    topo = buildTopology();
    const t = topo;
    if (!o.offload) offloadsOff(t);
    const lossNote = o.loss !== undefined ? setLoss(t, o.loss, o.dir === 'k2s' ? 'to-stk' : 'to-cli') : 'no loss';
    if (o.case === 'conn') return await connCase(o, t, procs, root, (c) => (tcpdump = c));
    let server: Child;
    const host = o.kernel ? KERNEL_ADDR : STACK_ADDR;
    if (o.kernel) {
      server = procs.start(t.stk, 'iperf3', ['-s', '--forceflush', '-p', '5201', '-B', KERNEL_ADDR]);
    } else {
      const nodeArgs: string[] = [];
      if (o.prof !== undefined) {
        mkdirSync(o.prof, { recursive: true });
        nodeArgs.push('--cpu-prof', '--cpu-prof-dir', o.prof);
      }
      const env = stackEnv({ netns: t.stk, tap: TAP, addrCidr: `${STACK_ADDR}/${PREFIX}`, mac: STACK_MAC, offload: o.offload });
      if (o.tcp !== undefined) env['TCPIP_BENCH_TCP'] = o.tcp;
      server = procs.start(undefined, process.execPath, [...nodeArgs, join(root, 'dist/bench/iperf3-stack.js'), '5201'], { env });
    }
    await server.waitFor(/Server listening/, 15_000);
    if (o.pcap !== undefined) {
      tcpdump = spawn('ip', ['netns', 'exec', t.cli, 'tcpdump', '-i', CLI_IF, '-s', '128', '-w', o.pcap, '-c', String(o.pcapPackets), 'tcp'], { stdio: 'ignore' });
      await sleep(500);
    }
    const runs: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const args = ['-c', host, '-p', '5201', '-t', String(o.seconds), '-J', ...(o.dir === 's2k' ? ['-R'] : [])];
      const out = await procs.run(t.cli, 'iperf3', args, (o.seconds + 20) * 1000);
      const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } } };
      const g = (j.end?.sum_received?.bits_per_second ?? 0) / 1e9;
      runs.push(g);
      process.stdout.write(`run ${i + 1}: ${g.toFixed(3)} Gbit/s${o.dir === 'k2s' ? `, sender retransmits ${j.end?.sum_sent?.retransmits}` : ''}\n`);
      await sleep(300);
    }
    process.stdout.write(`${o.kernel ? 'kernel' : 'stack'} ${o.dir} offload ${o.offload ? 'on' : 'off'}, ${lossNote}: ${runs.map((r) => r.toFixed(3)).join(' ')} Gbit/s (client ${CLI_ADDR})\n`);
    if (tcpdump !== undefined && tcpdump.exitCode === null) tcpdump.kill('SIGINT');
    for (const [ns, dev] of [[t.stk, TAP], [t.stk, STK_IF], [t.cli, CLI_IF]] as const) {
      const k = linkStats(ns, dev);
      process.stdout.write(`kernel ${dev}: rx ${k.rxPackets} pkts (${k.rxDropped} dropped), tx ${k.txPackets} pkts (${k.txDropped} dropped)\n`);
    }
    await server.stop(10_000);
    const m = /^stats (.*)$/m.exec(server.stdout);
    if (m !== null) {
      const s = JSON.parse(m[1]!) as Record<string, Record<string, unknown>>;
      const link = s['link'] ?? {};
      const pick = (obj: Record<string, unknown> | undefined, keys: string[]): string => keys.map((k) => `${k}=${String(obj?.[k])}`).join(' ');
      process.stdout.write(`link: ${pick(link, ['rxFrames', 'rxBatches', 'txFrames', 'flushes', 'rxRingDrops', 'txRingFull', 'txBlocked'])}\n`);
      process.stdout.write(`interface: ${pick(s['interface'], ['rxGso', 'txGso', 'txFrames'])}\n`);
      const tcp = s['tcp'] as Record<string, unknown> | undefined;
      const tc = (tcp?.['counters'] ?? tcp) as Record<string, unknown> | undefined;
      process.stdout.write(`tcp: ${pick(tc, ['InSegs', 'OutSegs', 'RetransSegs', 'TCPPureAcks', 'TCPOFOQueue', 'DropOutOfWindow', 'TCPDSACKRecv', 'TCPSACKReneging'])}\n`);
      process.stdout.write(`stats: ${m[1]!.slice(0, 4000)}\n`);
    }
    if (o.prof !== undefined) printNewestProfile(o.prof, o.top);
    return 0;
  } catch (e) {
    process.stderr.write(`profile: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

/** Summarize the newest CPU profile in `dir` (the server's, written when it exited). */
function printNewestProfile(dir: string, top: number): void {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files[0] !== undefined) process.stdout.write(`${summarizeProfile(files[0], top)}\n`);
}

const CONN_PORT = 7011;

/**
 * The connection-rate case (cases.ts connRateCase) with a look inside: conn/s per run, the
 * server's CPU per connection, and for our stack its frames, native flushes, receive
 * batches and segments per connection (from the counters bench-server.js prints on exit).
 */
async function connCase(o: Opts, t: Topology, procs: Procs, root: string, setTcpdump: (c: ChildProcess) => void): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'tcpip-profile-'));
  try {
    const tools = buildCTools(tmp);
    const side = o.kernel ? 'kernel' : o.node ? 'node' : 'stack';
    let server: Child;
    let host = KERNEL_ADDR;
    let port = CONN_PORT;
    const nodeArgs: string[] = ['--expose-gc'];
    if (o.prof !== undefined && side !== 'kernel') {
      mkdirSync(o.prof, { recursive: true });
      nodeArgs.push('--cpu-prof', '--cpu-prof-dir', o.prof);
    }
    if (side === 'kernel') {
      server = procs.start(t.stk, tools.server, ['rr', String(port)]);
    } else if (side === 'node') {
      port = CONN_PORT + 1;
      server = procs.start(t.stk, process.execPath, [...nodeArgs, join(root, 'dist/bench/bench-server.js'), 'rr', String(port), '--kernel']);
    } else {
      host = STACK_ADDR;
      const env = stackEnv({ netns: t.stk, tap: TAP, addrCidr: `${STACK_ADDR}/${PREFIX}`, mac: STACK_MAC, offload: o.offload });
      if (o.tcp !== undefined) env['TCPIP_BENCH_TCP'] = o.tcp;
      server = procs.start(undefined, process.execPath, [...nodeArgs, join(root, 'dist/bench/bench-server.js'), 'rr', String(port)], { env });
    }
    await server.waitFor(/listening/, 15_000);
    if (o.pcap !== undefined) {
      const td = spawn('ip', ['netns', 'exec', t.cli, 'tcpdump', '-i', CLI_IF, '-s', '128', '-w', o.pcap, '-c', String(o.pcapPackets), 'tcp'], { stdio: 'ignore' });
      setTcpdump(td);
      await sleep(500);
    }
    let total = 0;
    let cpu = 0;
    const t0 = server.pid !== undefined ? cpuTimesOf(server.pid) : undefined;
    for (let i = 0; i < o.runs; i++) {
      const c0 = server.pid !== undefined ? cpuSecondsOf(server.pid) : undefined;
      const out = await procs.run(t.cli, tools.client, ['connrate', host, String(port), String(o.seconds), '16', String(o.warmup)], (o.warmup + o.seconds + 30) * 1000);
      const c1 = server.pid !== undefined ? cpuSecondsOf(server.pid) : undefined;
      const j = JSON.parse(out) as { connections: number; errors: number; per_second: number; warmup_connections: number };
      const all = j.connections + j.warmup_connections;
      total += all;
      const dc = c0 !== undefined && c1 !== undefined ? c1 - c0 : NaN;
      cpu += dc;
      process.stdout.write(
        `run ${i + 1}: ${j.per_second.toFixed(0)} conn/s (${o.warmup} s warm-up + ${o.seconds} s; ${j.errors} errors); server CPU ${((dc * 1e6) / all).toFixed(1)} us/conn over ${all} connections\n`,
      );
      await sleep(300);
    }
    const t1 = server.pid !== undefined ? cpuTimesOf(server.pid) : undefined;
    if (t0 !== undefined && t1 !== undefined && total > 0) {
      const us = (s: number): string => ((s * 1e6) / total).toFixed(1);
      process.stdout.write(`server CPU per connection: user ${us(t1.user - t0.user)} us, system ${us(t1.system - t0.system)} us\n`);
    }
    for (const [ns, dev] of [[t.stk, TAP], [t.cli, CLI_IF]] as const) {
      const k = linkStats(ns, dev);
      process.stdout.write(`kernel ${dev}: rx ${k.rxPackets} pkts (${k.rxDropped} dropped), tx ${k.txPackets} pkts (${k.txDropped} dropped)\n`);
    }
    await server.stop(10_000);
    const m = /^stats (.*)$/m.exec(server.stdout);
    if (m !== null && total > 0) {
      const s = JSON.parse(m[1]!) as Record<string, Record<string, unknown>>;
      const per = (obj: Record<string, unknown> | undefined, keys: string[]): string =>
        keys.map((k) => `${k}=${(Number(obj?.[k]) / total).toFixed(2)}`).join(' ');
      const tcp = s['tcp'] as Record<string, unknown> | undefined;
      process.stdout.write(`per connection (${total}): link ${per(s['link'], ['rxFrames', 'rxBatches', 'txFrames', 'flushes'])}\n`);
      process.stdout.write(`per connection: tcp ${per(tcp, ['InSegs', 'OutSegs', 'RetransSegs', 'PassiveOpens', 'TCPTimeWaitOverflow', 'DelayedACKs'])}\n`);
      process.stdout.write(`stats: ${m[1]!.slice(0, 4000)}\n`);
    }
    process.stdout.write(`server CPU ${((cpu * 1e6) / total).toFixed(1)} us/conn (${side})\n`);
    if (o.prof !== undefined) printNewestProfile(o.prof, o.top);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('profile.js') === true) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`profile: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
