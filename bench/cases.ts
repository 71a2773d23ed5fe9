/**
 * The benchmark cases. Each is a function returning CaseResult(s); the suite runs them one
 * at a time (2 cores: nothing else may compete) and prints them with their ratio to the
 * kernel reference row named in `ref`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CTools } from './c-tools.js';
import { cpuSecondsOf, Procs, rssOf, sleep, type Child } from './proc.js';
import { stackEnv, type Availability } from './stack-adapter.js';
import { CLI_ADDR, KERNEL_ADDR, PREFIX, STACK_ADDR, STACK_MAC, TAP, type Topology } from './topology.js';

export interface CaseResult {
  /** Stable id, e.g. 'tput.k2s.on'. */
  id: string;
  name: string;
  /** Median of `runs` (or the single measurement); null when not measured. */
  value: number | null;
  unit: string;
  runs: number[];
  /** 'higher' = more is better (throughput), 'lower' = less is better (latency, memory). */
  better: 'higher' | 'lower';
  status: 'ok' | 'unavailable' | 'error';
  /** id of the kernel row this one is compared with. */
  ref?: string;
  note?: string;
  extra?: Record<string, unknown>;
}

export interface Ctx {
  topo: Topology;
  procs: Procs;
  tools: CTools;
  /** Directory holding dist/ (the compiled examples and bench programs). */
  root: string;
  duration: number;
  runs: number;
  /** Seconds for the latency measurement. */
  shortSeconds: number;
  /** Connection rate: the measurement window and the warm-up before it (same load, not counted), seconds. */
  connSeconds: number;
  connWarmup: number;
  idleConnections: number;
  stack: Availability;
  progress(msg: string): void;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const IPERF_KERNEL_PORT = 5201;
const IPERF_NODE_PORT = 5202;
const IPERF_STACK_PORT = 5201;
const PORTS = { echo: 7001, rr: 7011, hold: 7021 } as const;
const NODE_PORT_OFFSET = 1;

// ---- servers: started on first use, kept, stopped by the suite ------------------------------

type ServerKey = string;

/** Long-lived servers of the run. Only one process may own the TAP: stack servers replace each other. */
export class Servers {
  private readonly ctx: Ctx;
  private readonly running = new Map<ServerKey, Child>();
  private stackKey: ServerKey | undefined;

  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }

  private node(): string {
    return process.execPath;
  }

  private dist(rel: string): string {
    return join(this.ctx.root, 'dist', rel);
  }

  async kernelIperf(): Promise<void> {
    // --forceflush: iperf3's stdout is a pipe here, and "Server listening" must not sit in a buffer.
    await this.ensure(
      'iperf3-kernel',
      () => this.ctx.procs.start(this.ctx.topo.stk, 'iperf3', ['-s', '--forceflush', '-p', String(IPERF_KERNEL_PORT), '-B', KERNEL_ADDR]),
      /Server listening/,
    );
  }

  async nodeIperf(): Promise<void> {
    await this.ensure(
      'iperf3-node',
      () => this.ctx.procs.start(this.ctx.topo.stk, this.node(), [this.dist('examples/iperf3_server.js'), '--kernel', '-p', String(IPERF_NODE_PORT), '-B', KERNEL_ADDR]),
      /Server listening/,
    );
  }

  /** Our iperf3 server; `offload` false runs the stack with TCPIP_OFFLOAD=0 (a separate server). */
  async stackIperf(offload = true): Promise<void> {
    await this.ensureStack(
      `iperf3-stack-${offload ? 'on' : 'off'}`,
      () => this.ctx.procs.start(undefined, this.node(), [this.dist('examples/iperf3_server.js'), '-p', String(IPERF_STACK_PORT)], { env: this.stackEnv(offload) }),
      /Server listening/,
    );
  }

  async kernelC(mode: keyof typeof PORTS): Promise<Child> {
    return this.ensure(`c-${mode}`, () => this.ctx.procs.start(this.ctx.topo.stk, this.ctx.tools.server, [mode, String(PORTS[mode])]), /listening/);
  }

  async nodeBench(mode: keyof typeof PORTS): Promise<Child> {
    return this.ensure(
      `node-${mode}`,
      () => this.ctx.procs.start(this.ctx.topo.stk, this.node(), ['--expose-gc', this.dist('bench/bench-server.js'), mode, String(PORTS[mode] + NODE_PORT_OFFSET), '--kernel']),
      /listening/,
    );
  }

  async stackBench(mode: keyof typeof PORTS): Promise<Child> {
    return this.ensureStack(
      `stack-${mode}`,
      () => this.ctx.procs.start(undefined, this.node(), ['--expose-gc', this.dist('bench/bench-server.js'), mode, String(PORTS[mode])], { env: this.stackEnv() }),
      /listening/,
    );
  }

  private stackEnv(offload = true): NodeJS.ProcessEnv {
    return stackEnv({ netns: this.ctx.topo.stk, tap: TAP, addrCidr: `${STACK_ADDR}/${PREFIX}`, mac: STACK_MAC, offload });
  }

  private async ensure(key: ServerKey, start: () => Child, ready: RegExp): Promise<Child> {
    const have = this.running.get(key);
    if (have?.running === true) return have;
    const c = start();
    this.running.set(key, c);
    await c.waitFor(ready, 15_000);
    return c;
  }

  private async ensureStack(key: ServerKey, start: () => Child, ready: RegExp): Promise<Child> {
    if (this.stackKey !== undefined && this.stackKey !== key) await this.stop(this.stackKey);
    this.stackKey = key;
    return this.ensure(key, start, ready);
  }

  async stop(key: ServerKey): Promise<void> {
    const c = this.running.get(key);
    this.running.delete(key);
    if (this.stackKey === key) this.stackKey = undefined;
    await c?.stop();
  }

  async stopAll(): Promise<void> {
    for (const k of [...this.running.keys()]) await this.stop(k);
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function unavailable(id: string, name: string, unit: string, better: 'higher' | 'lower', reason: string, ref?: string): CaseResult {
  return { id, name, value: null, unit, runs: [], better, status: 'unavailable', note: `not available yet: ${reason}`, ...(ref !== undefined ? { ref } : {}) };
}

function failed(id: string, name: string, unit: string, better: 'higher' | 'lower', e: unknown, ref?: string): CaseResult {
  const msg = e instanceof Error ? e.message : String(e);
  return { id, name, value: null, unit, runs: [], better, status: 'error', note: msg.split('\n')[0]!.slice(0, 300), ...(ref !== undefined ? { ref } : {}) };
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second: number; bytes: number }; sum_sent?: { retransmits?: number } };
}

/** One iperf3 client run from the client namespace; Gbit/s received (the receiver's count). */
async function iperfRun(ctx: Ctx, host: string, port: number, reverse: boolean): Promise<{ gbps: number; retransmits: number | undefined }> {
  const args = ['-c', host, '-p', String(port), '-t', String(ctx.duration), '-J', ...(reverse ? ['-R'] : [])];
  let out: string;
  try {
    out = await ctx.procs.run(ctx.topo.cli, 'iperf3', args, (ctx.duration + 20) * 1000);
  } catch (e) {
    // iperf3 -J prints its error inside the JSON on stdout.
    const m = /"error":\s*"([^"]*)"/.exec(String((e as Error).message));
    throw new Error(m !== null ? `iperf3: ${m[1]}` : (e as Error).message);
  }
  const j = JSON.parse(out) as IperfJson;
  if (j.error !== undefined) throw new Error(`iperf3: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (bps === undefined || !(j.end!.sum_received!.bytes > 0)) throw new Error('iperf3 reported no received bytes');
  return { gbps: bps / 1e9, retransmits: reverse ? undefined : j.end?.sum_sent?.retransmits };
}

async function throughput(
  ctx: Ctx,
  id: string,
  name: string,
  target: { host: string; port: number; reverse: boolean },
  ensure: () => Promise<void>,
  ref?: string,
): Promise<CaseResult> {
  const runs: number[] = [];
  const retrans: number[] = [];
  try {
    await ensure();
    for (let i = 0; i < ctx.runs; i++) {
      ctx.progress(`${name}: run ${i + 1}/${ctx.runs} (${ctx.duration} s)`);
      const r = await iperfRun(ctx, target.host, target.port, target.reverse);
      runs.push(r.gbps);
      if (r.retransmits !== undefined) retrans.push(r.retransmits);
      await sleep(300);
    }
  } catch (e) {
    return failed(id, name, 'Gbit/s', 'higher', e, ref);
  }
  const res: CaseResult = { id, name, value: median(runs), unit: 'Gbit/s', runs, better: 'higher', status: 'ok', ...(ref !== undefined ? { ref } : {}) };
  if (retrans.length > 0) res.extra = { senderRetransmits: retrans };
  return res;
}

// ---- throughput -------------------------------------------------------------------------------

export function kernelToKernel(ctx: Ctx, s: Servers, tag: string, label: string): Promise<CaseResult> {
  return throughput(ctx, `tput.k2k.${tag}`, `kernel -> kernel (iperf3 both ends), ${label}`, { host: KERNEL_ADDR, port: IPERF_KERNEL_PORT, reverse: false }, () => s.kernelIperf());
}

export function kernelToNode(ctx: Ctx, s: Servers, tag: string, label: string): Promise<CaseResult> {
  return throughput(
    ctx,
    `tput.k2node.${tag}`,
    `kernel -> Node net (our iperf3 --kernel), ${label}`,
    { host: KERNEL_ADDR, port: IPERF_NODE_PORT, reverse: false },
    () => s.nodeIperf(),
    `tput.k2k.${tag}`,
  );
}

export async function kernelToStack(ctx: Ctx, s: Servers, tag: string, label: string, reverse: boolean): Promise<CaseResult> {
  const id = `tput.${reverse ? 's2k' : 'k2s'}.${tag}`;
  const name = reverse ? `stack -> kernel (iperf3 -R), ${label}` : `kernel -> stack (iperf3), ${label}`;
  const ref = `tput.k2k.${tag}`;
  if (!ctx.stack.ok) return unavailable(id, name, 'Gbit/s', 'higher', ctx.stack.reason, ref);
  // The stack's own offloads (TSO, GRO/GSO through the TAP) follow the row: on with the
  // devices' default offloads, TCPIP_OFFLOAD=0 with offloads off.
  const offload = tag !== 'off';
  const r = await throughput(ctx, id, name, { host: STACK_ADDR, port: IPERF_STACK_PORT, reverse }, () => s.stackIperf(offload), ref);
  return { ...r, note: r.note ?? `stack TCPIP_OFFLOAD=${offload ? 1 : 0}` };
}

export async function memoryCase(ctx: Ctx, mtu: number): Promise<CaseResult> {
  const id = `mem.${mtu}`;
  const name = `in-memory stack <-> stack, one thread, MTU ${mtu}`;
  if (!ctx.stack.ok) return unavailable(id, name, 'Gbit/s', 'higher', ctx.stack.reason);
  const seconds = Math.min(3, ctx.duration);
  const runs: number[] = [];
  try {
    for (let i = 0; i < ctx.runs; i++) {
      ctx.progress(`${name}: run ${i + 1}/${ctx.runs} (${seconds} s)`);
      const out = await ctx.procs.run(undefined, process.execPath, [join(ctx.root, 'dist/bench/stack-memory.js'), String(mtu), String(seconds)], (seconds + 30) * 1000);
      runs.push((JSON.parse(out) as { gbps: number }).gbps);
    }
  } catch (e) {
    return failed(id, name, 'Gbit/s', 'higher', e);
  }
  return { id, name, value: median(runs), unit: 'Gbit/s', runs, better: 'higher', status: 'ok', note: 'ManualClock, zero-delay link: CPU cost only' };
}

// ---- latency ----------------------------------------------------------------------------------

type Side = 'kernel' | 'node' | 'stack';
const SIDE_LABEL: Record<Side, string> = { kernel: 'C client -> C server (kernel)', node: 'C client -> Node net server', stack: 'C client -> our stack' };

function sideTarget(side: Side, mode: keyof typeof PORTS): { host: string; port: number } {
  if (side === 'stack') return { host: STACK_ADDR, port: PORTS[mode] };
  return { host: KERNEL_ADDR, port: PORTS[mode] + (side === 'node' ? NODE_PORT_OFFSET : 0) };
}

async function ensureSide(s: Servers, side: Side, mode: keyof typeof PORTS): Promise<Child> {
  return side === 'kernel' ? s.kernelC(mode) : side === 'node' ? s.nodeBench(mode) : s.stackBench(mode);
}

export async function latencyCase(ctx: Ctx, s: Servers, side: Side): Promise<CaseResult[]> {
  const ids = [`rtt.p50.${side}`, `rtt.p99.${side}`];
  const names = [`1-byte echo RTT p50, ${SIDE_LABEL[side]}`, `1-byte echo RTT p99, ${SIDE_LABEL[side]}`];
  const refs = side === 'kernel' ? [undefined, undefined] : ['rtt.p50.kernel', 'rtt.p99.kernel'];
  if (side === 'stack' && !ctx.stack.ok) {
    const reason = ctx.stack.reason;
    return [0, 1].map((i) => unavailable(ids[i]!, names[i]!, 'us', 'lower', reason, refs[i]));
  }
  try {
    await ensureSide(s, side, 'echo');
    ctx.progress(`${names[0]} (${ctx.shortSeconds} s)`);
    const t = sideTarget(side, 'echo');
    const out = await ctx.procs.run(ctx.topo.cli, ctx.tools.client, ['latency', t.host, String(t.port), String(ctx.shortSeconds)], (ctx.shortSeconds + 20) * 1000);
    const j = JSON.parse(out) as { samples: number; p50_us: number; p99_us: number; mean_us: number; max_us: number };
    const extra = { samples: j.samples, mean_us: j.mean_us, max_us: j.max_us };
    return [
      { id: ids[0]!, name: names[0]!, value: j.p50_us, unit: 'us', runs: [j.p50_us], better: 'lower', status: 'ok', extra, ...(refs[0] !== undefined ? { ref: refs[0] } : {}) },
      { id: ids[1]!, name: names[1]!, value: j.p99_us, unit: 'us', runs: [j.p99_us], better: 'lower', status: 'ok', extra, ...(refs[1] !== undefined ? { ref: refs[1] } : {}) },
    ];
  } catch (e) {
    return [0, 1].map((i) => failed(ids[i]!, names[i]!, 'us', 'lower', e, refs[i]));
  }
}

// ---- connection rate --------------------------------------------------------------------------

const CONNRATE_CONCURRENCY = 16;

/**
 * Connections per second, `ctx.runs` runs against the same server (median). Every run is
 * `connWarmup` seconds of the same load, not counted (like iperf3 -O: the JIT, caches and
 * tables of a fresh server warm up), then a `connSeconds` window; the same client, warm-up
 * and window for every server. `extra.serverCpuUsPerConn`: the server process's CPU time
 * (user + system, /proc/<pid>/stat) over the whole run divided by every connection the run
 * completed (warm-up included) — for the kernel's C server this leaves out the kernel's
 * softirq work, so compare it between the Node and stack rows only.
 */
export async function connRateCase(ctx: Ctx, s: Servers, side: Side): Promise<CaseResult> {
  const id = `conn.${side}`;
  const name = `new connections/s (connect, 1-byte request, reply, close; ${CONNRATE_CONCURRENCY} in flight), ${SIDE_LABEL[side]}`;
  const ref = side === 'kernel' ? undefined : 'conn.kernel';
  if (side === 'stack' && !ctx.stack.ok) return unavailable(id, name, 'conn/s', 'higher', ctx.stack.reason, ref);
  const runs: number[] = [];
  const cpuUs: number[] = [];
  const connections: number[] = [];
  let errors = 0;
  try {
    const server = await ensureSide(s, side, 'rr');
    const t = sideTarget(side, 'rr');
    for (let i = 0; i < ctx.runs; i++) {
      ctx.progress(`${name}: run ${i + 1}/${ctx.runs} (${ctx.connWarmup} s warm-up + ${ctx.connSeconds} s)`);
      const cpu0 = server.pid !== undefined ? cpuSecondsOf(server.pid) : undefined;
      const out = await ctx.procs.run(
        ctx.topo.cli,
        ctx.tools.client,
        ['connrate', t.host, String(t.port), String(ctx.connSeconds), String(CONNRATE_CONCURRENCY), String(ctx.connWarmup)],
        (ctx.connWarmup + ctx.connSeconds + 30) * 1000,
      );
      const cpu1 = server.pid !== undefined ? cpuSecondsOf(server.pid) : undefined;
      const j = JSON.parse(out) as { connections: number; errors: number; per_second: number; warmup_connections: number };
      if (j.connections === 0) throw new Error(`no connection completed (${j.errors} errors)`);
      runs.push(j.per_second);
      connections.push(j.connections);
      errors += j.errors;
      const all = j.connections + j.warmup_connections;
      if (cpu0 !== undefined && cpu1 !== undefined && all > 0) cpuUs.push(Number((((cpu1 - cpu0) * 1e6) / all).toFixed(1)));
      await sleep(300);
    }
  } catch (e) {
    return failed(id, name, 'conn/s', 'higher', e, ref);
  }
  const window = `${ctx.connWarmup} s warm-up (not counted) + ${ctx.connSeconds} s window`;
  return {
    id,
    name,
    value: median(runs),
    unit: 'conn/s',
    runs,
    better: 'higher',
    status: 'ok',
    extra: { connections, errors, warmupSeconds: ctx.connWarmup, windowSeconds: ctx.connSeconds, serverCpuUsPerConn: cpuUs },
    note: errors > 0 ? `${window}; ${errors} failed connections` : window,
    ...(ref !== undefined ? { ref } : {}),
  };
}

// ---- idle connections -------------------------------------------------------------------------

function slabBytes(): number {
  const m = /^Slab:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** How long the held connections sit idle before the user-space rows are measured (ms). */
const IDLE_SETTLE_MS = 7000;

/** Per V8 heap space, the change of its physical size between two bench-server `stats` lines. */
function spaceDelta(a: unknown, b: unknown): Record<string, number> | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return undefined;
  const x = a as Record<string, number>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b as Record<string, number>)) if (v !== x[k]) out[k] = v - (x[k] ?? 0);
  return out;
}

export async function idleCase(ctx: Ctx, s: Servers, side: Side): Promise<CaseResult> {
  const n = ctx.idleConnections;
  const id = `idle.${side}`;
  const what = side === 'kernel' ? 'kernel memory per socket (Slab, both ends)' : side === 'node' ? 'Node net server RSS per connection (user space only)' : 'our stack RSS per connection';
  const name = `${n} idle connections: ${what}`;
  if (side === 'stack' && !ctx.stack.ok) return unavailable(id, name, 'KiB', 'lower', ctx.stack.reason);
  let holder: Child | undefined;
  try {
    const server = await ensureSide(s, side, 'hold');
    ctx.progress(`${name}`);
    const before = side === 'kernel' ? undefined : await server.request('stats', 10_000);
    const slab0 = slabBytes();
    const rss0 = server.pid !== undefined ? rssOf(server.pid) : undefined;
    const t = sideTarget(side, 'hold');
    holder = ctx.procs.start(ctx.topo.cli, ctx.tools.client, ['hold', t.host, String(t.port), String(n)]);
    const m = await holder.waitFor(/\{"ready":(\d+),"failed":(\d+)\}/, 90_000);
    const ready = Number(m[1]);
    if (ready < n) throw new Error(`only ${ready} of ${n} connections established (${m[2]} failed)`);
    let extra: Record<string, unknown> = { connections: ready };
    let perConn: number;
    let held = n;
    if (side === 'kernel') {
      await sleep(500);
      const slab1 = slabBytes();
      perConn = (slab1 - slab0) / (2 * n);
      extra = { ...extra, slabDeltaBytes: slab1 - slab0 };
    } else {
      // Wait until the server has accepted them all (the kernel completes handshakes before accept()).
      let after = await server.request('stats', 10_000);
      for (let i = 0; i < 100 && Number(after['connections']) < n; i++) {
        await sleep(100);
        after = await server.request('stats', 10_000);
      }
      // Then let them sit idle (IDLE_SETTLE_MS) before the figure: right after a burst of
      // setups V8's young generation is still grown (up to 2 x 16 MB semi-spaces, returned
      // once allocation has been low for ~5 s), which is transient, not per-connection
      // memory. The figure right after the last accept is kept as extra.earlyRssPerConnBytes.
      const early = after;
      await sleep(IDLE_SETTLE_MS);
      after = await server.request('stats', 10_000);
      const rss1 = server.pid !== undefined ? rssOf(server.pid) : undefined;
      const rssDelta = Number(after['rss']) - Number(before!['rss']);
      held = Number(after['connections']);
      perConn = rssDelta / held;
      extra = {
        ...extra,
        serverConnections: after['connections'],
        rssDeltaBytes: rssDelta,
        heapDeltaBytes: Number(after['heapUsed']) - Number(before!['heapUsed']),
        heapPerConnBytes: (Number(after['heapUsed']) - Number(before!['heapUsed'])) / held,
        arrayBuffersPerConnBytes: (Number(after['arrayBuffers']) - Number(before!['arrayBuffers'])) / held,
        procRssDeltaBytes: rss0 !== undefined && rss1 !== undefined ? rss1 - rss0 : undefined,
        heapTotalDeltaBytes: Number(after['heapTotal']) - Number(before!['heapTotal']),
        heapSpaceDeltaBytes: spaceDelta(before!['spaces'], after['spaces']),
        earlyRssPerConnBytes: (Number(early['rss']) - Number(before!['rss'])) / held,
      };
      // A handful short is reported, not fatal: the client saw every handshake complete.
      if (held < 0.99 * n) throw new Error(`server holds ${held} of ${n} connections`);
    }
    const kib = perConn / 1024;
    return {
      id,
      name,
      value: kib,
      unit: 'KiB',
      runs: [kib],
      better: 'lower',
      status: 'ok',
      extra,
      note:
        side === 'kernel'
          ? 'system-wide Slab delta / (2 x connections): noisy if anything else runs'
          : `RSS delta after gc() / connections held, after ${IDLE_SETTLE_MS / 1000} s idle${held < n ? ` (server holds only ${held} of the ${n} the client established)` : ''}`,
    };
  } catch (e) {
    return failed(id, name, 'KiB', 'lower', e);
  } finally {
    if (holder !== undefined) {
      holder.proc.stdin?.end();
      await holder.exited(20_000);
    }
  }
}

// ---- loss ----------------------------------------------------------------------------------

/**
 * The 1% loss rows. `reverse`: the stk side sends (iperf3 -R), and the loss is on what it
 * sends (topology.ts setLoss 'to-cli'); else the client sends and loses (the original row).
 * `tag` 'on' runs with the devices' default offloads and our stack with TCPIP_OFFLOAD=1 (a
 * drop then loses a whole TSO/GSO super-frame), 'off' after offloadsOff() with
 * TCPIP_OFFLOAD=0 (a drop loses one 1514-byte frame).
 */
export interface LossRow {
  reverse: boolean;
  tag: 'on' | 'off';
}

function lossIds(r: LossRow): { k: string; s: string; suffix: string } {
  const suffix = r.tag === 'on' ? '' : '.off';
  return r.reverse ? { k: `loss.k2kr${suffix}`, s: `loss.s2k${suffix}`, suffix } : { k: `loss.k2k${suffix}`, s: `loss.k2s${suffix}`, suffix };
}

function lossLabel(r: LossRow): string {
  return r.tag === 'on' ? '1% loss' : '1% loss, offloads off';
}

export async function lossKernel(ctx: Ctx, s: Servers, method: string, r: LossRow = { reverse: false, tag: 'on' }): Promise<CaseResult> {
  const { k } = lossIds(r);
  const name = r.reverse ? `kernel -> kernel (iperf3 -R), ${lossLabel(r)}` : `kernel -> kernel, ${lossLabel(r)}`;
  const res = await throughput(ctx, k, name, { host: KERNEL_ADDR, port: IPERF_KERNEL_PORT, reverse: r.reverse }, () => s.kernelIperf());
  return { ...res, note: res.note ?? method };
}

export async function lossStack(ctx: Ctx, s: Servers, method: string, r: LossRow = { reverse: false, tag: 'on' }): Promise<CaseResult> {
  const { k, s: id } = lossIds(r);
  const name = r.reverse ? `stack -> kernel (iperf3 -R), ${lossLabel(r)}` : `kernel -> stack, ${lossLabel(r)}`;
  if (!ctx.stack.ok) return unavailable(id, name, 'Gbit/s', 'higher', ctx.stack.reason, k);
  const offload = r.tag === 'on';
  const res = await throughput(ctx, id, name, { host: STACK_ADDR, port: IPERF_STACK_PORT, reverse: r.reverse }, () => s.stackIperf(offload), k);
  return { ...res, note: res.note ?? `${method}; stack TCPIP_OFFLOAD=${offload ? 1 : 0}` };
}

export const ADDRESSES = { client: CLI_ADDR, kernel: KERNEL_ADDR, stack: STACK_ADDR };
