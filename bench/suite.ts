/**
 * `npm run bench`: the system benchmark suite, in one session, one case at a time.
 *
 *   node dist/bench/suite.js [--quick] [--duration S] [--runs N] [--only REGEX] [--idle N] [--out FILE]
 *
 * Builds its own namespaces (see topology.ts), runs the kernel references and our stack's
 * cases (rows "not available yet" while the stack cannot run), prints a table with ratios
 * to the kernel and writes JSON to bench/results/<date>.json. Namespaces and processes are
 * removed on the way out, also on failure and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tapAvailable } from '../src/cli/netns.js';
import { buildCTools } from './c-tools.js';
import * as C from './cases.js';
import type { CaseResult, Ctx } from './cases.js';
import { Procs } from './proc.js';
import { repoRoot, stackAvailable } from './stack-adapter.js';
import { BRIDGE, buildTopology, CLI_IF, destroyTopology, offloadsOff, offloadState, setLoss, STK_IF, TAP, type Topology } from './topology.js';
import { formatTable } from './report.js';

interface Options {
  quick: boolean;
  duration: number;
  runs: number;
  only: RegExp | undefined;
  idle: number;
  out: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, duration: 10, runs: 3, only: undefined, idle: 10_000, out: undefined };
  let durationSet = false;
  let runsSet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--duration') {
      o.duration = Math.min(60, Math.max(1, Math.round(Number(v())) || 10));
      durationSet = true;
    } else if (a === '--runs') {
      o.runs = Math.min(9, Math.max(1, Math.round(Number(v())) || 3));
      runsSet = true;
    } else if (a === '--only') o.only = new RegExp(v());
    else if (a === '--idle') o.idle = Math.min(18_000, Math.max(100, Math.round(Number(v())) || 10_000));
    else if (a === '--out') o.out = v();
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: npm run bench -- [--quick] [--duration S] [--runs N] [--only REGEX] [--idle N] [--out FILE]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.quick) {
    if (!durationSet) o.duration = 2;
    if (!runsSet) o.runs = 1;
  }
  return o;
}

function hostInfo(): Record<string, unknown> {
  const sh = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  return {
    node: process.version,
    kernel: sh('uname', ['-r']),
    cpu: cpus()[0]?.model ?? '?',
    cpus: cpus().length,
    iperf3: sh('iperf3', ['--version']).split('\n')[0],
    // The tree measured: commit plus whether uncommitted changes were present.
    git: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${sh('git', ['status', '--porcelain']) === '' ? '' : '+dirty'}`,
  };
}

type Step = { id: string; run: () => Promise<CaseResult | CaseResult[]>; before?: () => void };

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const root = repoRoot();
  const avail = tapAvailable();
  if (!avail.ok) {
    process.stderr.write(`bench: cannot build the benchmark network: ${avail.reason}\n`);
    return 1;
  }
  for (const tool of ['iperf3', 'ethtool', 'tc', 'gcc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      process.stderr.write(`bench: '${tool}' is missing (node scripts/ensure-tools.mjs installs it)\n`);
      return 1;
    }
  }
  const stack = await stackAvailable();
  const procs = new Procs();
  const tmp = mkdtempSync(join(tmpdir(), 'tcpip-bench-'));
  let topo: Topology | undefined;
  let servers: C.Servers | undefined;
  let stepNo = 0;
  let totalSteps = 0;
  const tty = process.stderr.isTTY === true;
  const progress = (msg: string): void => {
    const el = Math.round((Date.now() - t0) / 1000);
    const line = `[bench ${stepNo}/${totalSteps} ${Math.floor(el / 60)}:${String(el % 60).padStart(2, '0')}] ${msg}`;
    process.stderr.write(tty ? `\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}` : `${line}\n`);
  };

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    void cleanup().then(() => process.exit(130));
  };
  const cleanup = async (): Promise<void> => {
    await servers?.stopAll().catch(() => {});
    await procs.killAll();
    if (topo !== undefined) {
      const errs = destroyTopology(topo);
      for (const e of errs) process.stderr.write(`bench: cleanup: ${e}\n`);
      topo = undefined;
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: CaseResult[] = [];
  let offloads: Record<string, string> = {};
  try {
    const tools = buildCTools(tmp);
    topo = buildTopology();
    const t = topo;
    offloads = { defaultCli: offloadState(t.cli, CLI_IF), defaultStk: offloadState(t.stk, STK_IF) };
    const ctx: Ctx = {
      topo: t,
      procs,
      tools,
      root,
      duration: opts.duration,
      runs: opts.runs,
      shortSeconds: opts.quick ? 1 : 3,
      connSeconds: opts.quick ? 1 : 5,
      connWarmup: opts.quick ? 1 : 2,
      idleConnections: opts.idle,
      stack,
      progress,
    };
    const s = new C.Servers(ctx);
    servers = s;
    let lossMethod = '';
    /** A loss step's `before`: 1% loss on the data direction (offloads off first for the .off rows). */
    const loss =
      (reverse: boolean, offloadsOffFirst = false): (() => void) =>
      () => {
        if (offloadsOffFirst) offloadsOff(t);
        setLoss(t, undefined);
        lossMethod = setLoss(t, 1, reverse ? 'to-cli' : 'to-stk');
      };
    const on = 'offloads on (default)';
    const off = 'offloads off';
    const steps: Step[] = [
      { id: 'tput.k2k.on', run: () => C.kernelToKernel(ctx, s, 'on', on) },
      { id: 'tput.k2node.on', run: () => C.kernelToNode(ctx, s, 'on', on) },
      { id: 'tput.k2s.on', run: () => C.kernelToStack(ctx, s, 'on', on, false) },
      { id: 'tput.s2k.on', run: () => C.kernelToStack(ctx, s, 'on', on, true) },
      { id: 'mem.1500', run: () => C.memoryCase(ctx, 1500) },
      { id: 'mem.65535', run: () => C.memoryCase(ctx, 65535) },
      { id: 'rtt.kernel', run: () => C.latencyCase(ctx, s, 'kernel') },
      { id: 'rtt.node', run: () => C.latencyCase(ctx, s, 'node') },
      { id: 'rtt.stack', run: () => C.latencyCase(ctx, s, 'stack') },
      { id: 'conn.kernel', run: () => C.connRateCase(ctx, s, 'kernel') },
      { id: 'conn.node', run: () => C.connRateCase(ctx, s, 'node') },
      { id: 'conn.stack', run: () => C.connRateCase(ctx, s, 'stack') },
      { id: 'idle.kernel', run: () => C.idleCase(ctx, s, 'kernel') },
      { id: 'idle.node', run: () => C.idleCase(ctx, s, 'node') },
      { id: 'idle.stack', run: () => C.idleCase(ctx, s, 'stack') },
      // Loss: the client's data lost on the way in (k2k, k2s), or the stk side's data on the
      // way out (k2kr = kernel -> kernel with -R, s2k); the .off rows repeat them without offloads.
      { id: 'loss.k2k', before: loss(false), run: () => C.lossKernel(ctx, s, lossMethod, { reverse: false, tag: 'on' }) },
      { id: 'loss.k2s', before: loss(false), run: () => C.lossStack(ctx, s, lossMethod, { reverse: false, tag: 'on' }) },
      { id: 'loss.k2kr', before: loss(true), run: () => C.lossKernel(ctx, s, lossMethod, { reverse: true, tag: 'on' }) },
      { id: 'loss.s2k', before: loss(true), run: () => C.lossStack(ctx, s, lossMethod, { reverse: true, tag: 'on' }) },
      // Offloads go off once, after every default-offload case (there is no faithful "back on").
      { id: 'tput.k2k.off', before: () => (setLoss(t, undefined), offloadsOff(t)), run: () => C.kernelToKernel(ctx, s, 'off', off) },
      { id: 'tput.k2node.off', before: () => offloadsOff(t), run: () => C.kernelToNode(ctx, s, 'off', off) },
      { id: 'tput.k2s.off', before: () => offloadsOff(t), run: () => C.kernelToStack(ctx, s, 'off', off, false) },
      { id: 'tput.s2k.off', before: () => offloadsOff(t), run: () => C.kernelToStack(ctx, s, 'off', off, true) },
      { id: 'loss.k2k.off', before: loss(false, true), run: () => C.lossKernel(ctx, s, lossMethod, { reverse: false, tag: 'off' }) },
      { id: 'loss.k2s.off', before: loss(false, true), run: () => C.lossStack(ctx, s, lossMethod, { reverse: false, tag: 'off' }) },
      { id: 'loss.k2kr.off', before: loss(true, true), run: () => C.lossKernel(ctx, s, lossMethod, { reverse: true, tag: 'off' }) },
      { id: 'loss.s2k.off', before: loss(true, true), run: () => C.lossStack(ctx, s, lossMethod, { reverse: true, tag: 'off' }) },
    ];
    const chosen = steps.filter((st) => opts.only === undefined || opts.only.test(st.id));
    totalSteps = chosen.length;
    let lossOn = false;
    for (const st of chosen) {
      if (interrupted) break;
      stepNo++;
      const isLoss = st.id.startsWith('loss.');
      if (lossOn && !isLoss) {
        setLoss(t, undefined);
        lossOn = false;
      }
      if (isLoss) lossOn = true;
      try {
        st.before?.();
      } catch (e) {
        const note = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
        results.push({ id: st.id, name: st.id, value: null, unit: '', runs: [], better: 'higher', status: 'error', note });
        continue;
      }
      progress(st.id);
      const r = await st.run();
      results.push(...(Array.isArray(r) ? r : [r]));
    }
    if (lossOn) setLoss(t, undefined);
    offloads = { ...offloads, finalCli: offloadState(t.cli, CLI_IF), finalStk: offloadState(t.stk, STK_IF), finalBridge: offloadState(t.stk, BRIDGE), finalTap: offloadState(t.stk, TAP) };
  } catch (e) {
    process.stderr.write(`\nbench: ${e instanceof Error ? e.message : String(e)}\n`);
  } finally {
    if (tty) process.stderr.write('\n');
    await cleanup();
  }
  if (interrupted) return 130;

  const elapsed = (Date.now() - t0) / 1000;
  const date = new Date();
  const report = {
    date: date.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    options: { quick: opts.quick, duration: opts.duration, runs: opts.runs, only: opts.only?.source, idleConnections: opts.idle },
    host: hostInfo(),
    stack: stack.ok ? 'available' : `unavailable: ${stack.reason}`,
    offloads,
    elapsedSeconds: elapsed,
    results,
  };
  process.stdout.write(`${formatTable(results)}\n`);
  process.stdout.write(`${results.length} rows in ${elapsed.toFixed(0)} s (${opts.runs} run(s) of ${opts.duration} s per throughput case; medians shown)\n`);
  const outFile = opts.out ?? join(root, 'bench', 'results', `${date.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`JSON: ${outFile}\n`);
  const errors = results.filter((r) => r.status === 'error').length;
  return errors > 0 || results.length === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
