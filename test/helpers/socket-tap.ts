/**
 * Real-kernel interop harness for the socket examples: a fresh network namespace with our
 * stack on a TAP inside it (the kernel side gets .1, we get .2 of a 10.77.x.0/24), C
 * programs compiled with gcc, kernel-side processes started with `ip netns exec`, and our
 * example programs run in this process on the TAP stack. Everything is undone in close():
 * our children are killed by pid, the stack closed, the namespace deleted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, deleteNetns, ipIn, netnsPath, uniqueNetnsName } from '../../src/cli/netns.js';
import { RealClock } from '../../src/core/clock.js';
import { CryptoRng } from '../../src/core/rng.js';
import { TapLink } from '../../src/link/tap.js';
import { SocketApi } from '../../src/socket/index.js';
import { Stack, configFromEnv } from '../../src/stack.js';
import { Input, createRuntime, runMain, type Runtime } from '../../examples/runtime.js';
import { tapSkipReason } from './netns.js';

export const C_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'c');

/** Why these tests cannot run here (printed), or undefined. */
export function interopSkipReason(suite: string, needGcc = true): string | undefined {
  const r = tapSkipReason(suite);
  if (r !== undefined) return r;
  if (needGcc && spawnSync('sh', ['-c', 'command -v gcc'], { stdio: 'ignore' }).status !== 0) {
    const why = 'gcc is not installed (apt-get install gcc)';
    console.warn(`[${suite}] SKIPPED: ${why}`);
    return why;
  }
  return undefined;
}

export interface ProcResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningProc {
  child: ChildProcess;
  /** Resolves when the process exits (or rejects after timeoutMs, having killed it). */
  done: Promise<ProcResult>;
  stdout(): string;
}

export class TapEnv {
  readonly ns: string;
  readonly kernelAddr: string;
  readonly stackAddr: string;
  readonly dir: string;
  readonly stack: Stack;
  readonly sys: SocketApi;
  private readonly children = new Set<ChildProcess>();

  constructor(purpose: string, subnet: number) {
    this.kernelAddr = `10.77.${subnet}.1`;
    this.stackAddr = `10.77.${subnet}.2`;
    this.ns = uniqueNetnsName(`sock-${purpose}`);
    this.dir = mkdtempSync(join(tmpdir(), `tcpip-sock-${purpose}-`));
    createNetns(this.ns);
    try {
      const link = TapLink.open({ name: 'tcpip0', netns: netnsPath(this.ns), offload: configFromEnv().offload, txThread: configFromEnv().txThread });
      ipIn(this.ns, 'addr', 'add', `${this.kernelAddr}/24`, 'dev', 'tcpip0');
      ipIn(this.ns, 'link', 'set', 'tcpip0', 'up');
      this.stack = new Stack({ link, clock: new RealClock(), rng: new CryptoRng(), addr: `${this.stackAddr}/24` });
      this.sys = new SocketApi({ tcp: this.stack.tcp, udp: this.stack.udp, clock: this.stack.clock, localAddr: this.stack.addr });
    } catch (e) {
      deleteNetns(this.ns);
      rmSync(this.dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** gcc each C example into the temp dir; extra flags per program (e.g. a faster sleep). */
  compile(names: string[], extra: Record<string, string[]> = {}): void {
    for (const n of names) {
      const r = spawnSync('gcc', ['-O2', '-w', '-o', this.bin(n), join(C_DIR, `${n}.c`), ...(extra[n] ?? [])], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`gcc ${n}.c failed: ${r.stderr}`);
    }
  }

  bin(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Start a program inside the namespace (the kernel's side), stdin from `input`. Never
   * blocks the event loop: our stack must keep answering while it runs.
   */
  spawn(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string; timeoutMs?: number; stdbuf?: boolean } = {}): RunningProc {
    const argv = opts.stdbuf === false ? [cmd, ...args] : ['stdbuf', '-o0', cmd, ...args];
    const child = spawn('ip', ['netns', 'exec', this.ns, ...argv], { cwd: opts.cwd ?? this.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.stdin!.on('error', () => {});
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const done = new Promise<ProcResult>((resolve, reject) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${Buffer.concat(out).toString().slice(-500)}`));
      }, timeoutMs);
      child.on('close', (status, signal) => {
        clearTimeout(t);
        this.children.delete(child);
        resolve({ status, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
    });
    return { child, done, stdout: () => Buffer.concat(out).toString() };
  }

  /** Wait until something listens on a kernel-side port (ss inside the namespace). */
  async waitListening(proto: 'tcp' | 'udp', port: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const flag = proto === 'tcp' ? '-ltnH' : '-lunH';
      const r = spawnSync('ip', ['netns', 'exec', this.ns, 'ss', flag, `sport = :${port}`], { encoding: 'utf8' });
      if (r.stdout.trim() !== '') return;
      if (Date.now() > deadline) throw new Error(`nothing listens on ${proto} ${port} in ${this.ns}`);
      await new Promise((r2) => setTimeout(r2, 20));
    }
  }

  /** Run one of our example programs in this process, on this stack. */
  runExample(
    main: (rt: Runtime) => Promise<number>,
    argv: string[],
    opts: { input?: string; env?: Record<string, string> } = {},
  ): { done: Promise<{ status: number; stdout: string; stderr: string }>; stdout: () => string } {
    let stdout = '';
    let stderr = '';
    const rt = createRuntime({
      argv,
      env: opts.env ?? {},
      stdin: Input.fromString(opts.input ?? ''),
      stdout: (t) => (stdout += typeof t === 'string' ? t : Buffer.from(t).toString()),
      stderr: (t) => (stderr += typeof t === 'string' ? t : Buffer.from(t).toString()),
      sockets: async () => this.sys,
    });
    const done = runMain(main, rt).then((status) => ({ status, stdout, stderr }));
    return { done, stdout: () => stdout };
  }

  close(): void {
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    try {
      this.stack.close();
    } finally {
      deleteNetns(this.ns);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Resolve after ms of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
