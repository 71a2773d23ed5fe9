/**
 * Runner A: the Linux kernel. Each scenario gets its own network namespace with a TAP
 * (kernel side 10.77.1.1/24, MAC 02:00:00:77:01:01, a permanent neighbour entry for the
 * scripted peer 10.77.1.2), pinned TCP sysctls, and a Python helper inside the namespace
 * that makes the kernel socket calls (linux/helper.py).
 *
 * Frames: through src/link/tap.ts (TapLink, the project's TAP driver) when it is built,
 * else relayed by the helper itself (it opens the same TAP with TUNSETIFF).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { Link } from '../../../src/link/link.js';
import type { Script } from '../script.js';
import {
  PEER_IP, PEER_MAC, RealTimeWaiter, SUT_IP, SUT_MAC,
  type Runner, type RunnerFactory, type SysRequest, type SysResult,
} from '../runner.js';
import { NAMESPACE_SYSCTLS, PINNED_SYSCTLS } from './sysctls.js';
import { createNetns, deleteNetns, ipBatch, netnsAvailable, netnsExec, uniqueNetnsName } from './netns.js';

const HELPER = fileURLToPath(new URL('./helper.py', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TAP = 'tap0';

interface Pending {
  resolve: (r: SysResult) => void;
}

/** The frame path the last Linux run used (printed in the suite summary). */
export const linuxFramePath = { used: 'none' as 'none' | 'taplink' | 'helper', tapLinkError: '' };

/** Open the project's TapLink if src/link/tap.ts exists and its addon is built. */
async function openTapLink(name: string, netns: string): Promise<Link | undefined> {
  if (process.env.CONFORMANCE_TAP === 'helper') return undefined;
  const mod = '../../../src/link/tap.js';
  try {
    const m = (await import(/* @vite-ignore */ mod)) as { TapLink?: { open(o: { name: string; netns?: string }): Link } };
    if (m.TapLink === undefined) return undefined;
    return m.TapLink.open({ name, netns: `/var/run/netns/${netns}` });
  } catch (e) {
    linuxFramePath.tapLinkError = e instanceof Error ? e.message : String(e);
    return undefined;
  }
}

export class LinuxRunner implements Runner {
  readonly name = 'linux';
  readonly timeKind = 'real' as const;
  readonly ns: string;
  private readonly clock = new RealTimeWaiter();
  private helper: ChildProcessWithoutNullStreams | undefined;
  private link: Link | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private onOutbound: ((frame: Uint8Array, t: number) => void) | undefined;
  private tapReady: ((err?: string) => void) | undefined;
  private closed = false;
  private stderr = '';
  /** Which frame path is in use: 'taplink' or 'helper'. */
  framePath: 'taplink' | 'helper' = 'helper';

  private constructor(ns: string) {
    this.ns = ns;
  }

  static async create(script: Script): Promise<LinuxRunner> {
    const r = new LinuxRunner(uniqueNetnsName('tcpip-conf'));
    try {
      await r.setup(script);
    } catch (e) {
      await r.close();
      throw e;
    }
    return r;
  }

  private async setup(script: Script): Promise<void> {
    createNetns(this.ns);
    const sysctls = { ...NAMESPACE_SYSCTLS, ...PINNED_SYSCTLS, ...script.sysctls };
    const args = Object.entries(sysctls).map(([k, v]) => `${k}=${v}`);
    netnsExec(this.ns, 'sysctl', ['-q', '-e', '-w', ...args]);
    this.verifySysctls(sysctls);
    ipBatch(this.ns, [
      'link set lo up',
      `tuntap add dev ${TAP} mode tap`,
      `link set ${TAP} address ${SUT_MAC} mtu 1500`,
    ]);
    // Attach to the TAP before bringing it up: the carrier is then on when the device opens,
    // so its qdisc is activated at once (otherwise linkwatch may delay that by up to a
    // second and the kernel's first packets would be dropped).
    this.startHelper();
    const link = await openTapLink(TAP, this.ns);
    if (link !== undefined) {
      this.link = link;
      this.framePath = 'taplink';
      link.setReceiver({ receive: (f) => this.outbound(f.slice()) });
    } else {
      await new Promise<void>((resolve, reject) => {
        this.tapReady = (err) => (err === undefined ? resolve() : reject(new Error(`helper could not open ${TAP}: ${err}`)));
        this.send({ op: 'tap_open', name: TAP });
      });
    }
    ipBatch(this.ns, [
      `link set ${TAP} up`,
      `addr add ${SUT_IP}/24 dev ${TAP}`,
      `neigh replace ${PEER_IP} lladdr ${PEER_MAC} dev ${TAP} nud permanent`,
    ]);
    // No TSO/GSO/GRO on the kernel side: the kernel must put MTU-sized segments on the wire.
    try {
      netnsExec(this.ns, 'ethtool', ['-K', TAP, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx-checksumming', 'off']);
    } catch {
      // ethtool missing or a feature fixed: the TAP has no offloads unless TUNSETOFFLOAD asks.
    }
    await this.waitLinkReady();
    linuxFramePath.used = this.framePath;
  }

  /** Bounded wait until the TAP is UP with a real qdisc (not noop) so nothing is dropped. */
  private async waitLinkReady(): Promise<void> {
    let out = '';
    for (let i = 0; i < 100; i++) {
      out = netnsExec(this.ns, 'ip', ['link', 'show', 'dev', TAP]);
      if (/state UP/.test(out) && !/qdisc noop/.test(out)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${TAP} did not come up: ${out.trim()}`);
  }

  private verifySysctls(want: Record<string, string>): void {
    const out = netnsExec(this.ns, 'sysctl', ['-e', ...Object.keys(want)]);
    const got = new Map<string, string>();
    for (const line of out.split('\n')) {
      const i = line.indexOf(' = ');
      if (i > 0) got.set(line.slice(0, i).trim(), line.slice(i + 3).trim().replace(/\s+/g, ' '));
    }
    for (const [k, v] of Object.entries(want)) {
      const g = got.get(k);
      if (g === undefined) continue; // not in this kernel: recorded, cannot be pinned
      if (g !== v.replace(/\s+/g, ' ')) throw new Error(`sysctl ${k} is '${g}', wanted '${v}'`);
    }
  }

  private startHelper(): void {
    const child = spawn('ip', ['netns', 'exec', this.ns, PYTHON, '-u', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.helper = child;
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    child.on('exit', () => {
      for (const p of this.pending.values()) p.resolve({ ret: -1, errno: 'EHARNESS' });
      this.pending.clear();
      this.tapReady?.('helper exited: ' + this.stderr.trim());
    });
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => this.onLine(line));
  }

  private onLine(line: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (m.ev === 'rx') {
      this.outbound(Buffer.from(m.hex as string, 'hex'));
      return;
    }
    if (m.ev === 'tap_ready' || m.ev === 'tap_error') {
      const cb = this.tapReady;
      this.tapReady = undefined;
      cb?.(m.ev === 'tap_error' ? `${m.errno as string} ${m.msg as string}` : undefined);
      return;
    }
    if (typeof m.id === 'number') {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      const r: SysResult = { ret: m.ret as number };
      if (typeof m.errno === 'string') r.errno = m.errno;
      if (m.errno === 'EHARNESS') r.errno = `EHARNESS (${String(m.msg)})`;
      if (m.value !== undefined) r.value = m.value as number;
      if (typeof m.data === 'string') r.data = Buffer.from(m.data, 'hex');
      p.resolve(r);
      this.clock.kick();
    }
  }

  private outbound(frame: Uint8Array): void {
    if (this.closed) return;
    const t = this.now();
    this.onOutbound?.(frame, t);
    this.clock.kick();
  }

  private send(obj: unknown): void {
    this.helper?.stdin.write(`${JSON.stringify(obj)}\n`);
  }

  now(): number {
    return this.clock.now();
  }

  async start(onOutbound: (frame: Uint8Array, t: number) => void): Promise<void> {
    this.onOutbound = onOutbound;
  }

  inject(frame: Uint8Array): void {
    if (this.link !== undefined) this.link.send(frame);
    else this.send({ op: 'tx', hex: Buffer.from(frame).toString('hex') });
  }

  call(req: SysRequest): Promise<SysResult> {
    const id = this.nextId++;
    return new Promise<SysResult>((resolve) => {
      this.pending.set(id, { resolve });
      this.send({ id, ...req });
    });
  }

  wait(deadline: number, done: () => boolean): Promise<void> {
    return this.clock.wait(deadline, done);
  }

  kick(): void {
    this.clock.kick();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.link?.close();
    } catch {
      // closing twice or a driver error: the namespace goes away below anyway
    }
    const child = this.helper;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end();
      child.kill('SIGKILL'); // only the helper this runner started, by its own handle
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    }
    deleteNetns(this.ns);
  }
}

export const linuxRunnerFactory: RunnerFactory = {
  name: 'linux',
  async available() {
    return netnsAvailable();
  },
  create: (script) => LinuxRunner.create(script),
};
