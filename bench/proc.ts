/**
 * Child processes for the benchmarks: every one is tracked so the suite can kill exactly
 * the processes it started (by pid) on the way out, whatever happened.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

export class Procs {
  private readonly live = new Set<ChildProcess>();

  /** Start `cmd args` inside namespace `ns` (or here when ns is undefined). */
  start(ns: string | undefined, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Child {
    const argv = ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', ns, cmd, ...args];
    const cp = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    this.live.add(cp);
    cp.on('exit', () => this.live.delete(cp));
    cp.on('error', () => this.live.delete(cp));
    return new Child(cp, argv.join(' '));
  }

  /** Run to completion; rejects on a non-zero exit or after timeoutMs (the child is killed). */
  async run(ns: string | undefined, cmd: string, args: readonly string[], timeoutMs: number, opts: SpawnOptions = {}): Promise<string> {
    const c = this.start(ns, cmd, args, opts);
    c.proc.stdin?.end();
    const code = await c.exited(timeoutMs);
    if (code !== 0) throw new Error(`${c.name} exited ${code}: ${c.stderr.trim().slice(-500) || c.stdout.trim().slice(-500)}`);
    return c.stdout;
  }

  /** SIGTERM, then SIGKILL after graceMs, every child still running. */
  async killAll(graceMs = 1000): Promise<void> {
    const kids = [...this.live];
    for (const k of kids) k.kill('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (this.live.size > 0 && Date.now() < deadline) await sleep(20);
    for (const k of this.live) k.kill('SIGKILL');
    const hard = Date.now() + 2000;
    while (this.live.size > 0 && Date.now() < hard) await sleep(20);
  }

  get count(): number {
    return this.live.size;
  }
}

export class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  stdout = '';
  stderr = '';
  private exitCode: number | null | undefined = undefined;
  private readonly waiters: Array<() => void> = [];

  constructor(proc: ChildProcess, name: string) {
    this.proc = proc;
    this.name = name;
    proc.stdout?.on('data', (d: Buffer) => this.onOutput(() => (this.stdout += d.toString())));
    proc.stderr?.on('data', (d: Buffer) => this.onOutput(() => (this.stderr += d.toString())));
    const done = (code: number | null): void => {
      if (this.exitCode !== undefined) return;
      this.exitCode = code;
      this.wake();
    };
    proc.on('exit', (code, signal) => done(code ?? (signal !== null ? -1 : null)));
    proc.on('error', (e) => {
      this.stderr += e.message;
      done(-1);
    });
  }

  private onOutput(f: () => void): void {
    f();
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Resolve with the first stdout match of `re`; reject on exit or timeout. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stdout);
      if (m !== null) return m;
      if (!this.running) throw new Error(`${this.name} exited (${this.exitCode}) before printing ${re}: ${this.stderr.trim().slice(-400)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} from ${this.name}: ${this.stderr.trim().slice(-400)}`);
      await this.changed(Math.min(left, 200));
    }
  }

  /** Send a line on stdin and resolve with the next stdout line after it that parses as JSON. */
  async request(line: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const from = this.stdout.length;
    this.proc.stdin?.write(`${line}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const json = this.stdout
        .slice(from)
        .split('\n')
        .find((l) => l.startsWith('{') && l.endsWith('}'));
      if (json !== undefined) return JSON.parse(json) as Record<string, unknown>;
      if (!this.running) throw new Error(`${this.name} exited before answering '${line}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer to '${line}' from ${this.name} within ${timeoutMs} ms`);
      await this.changed(Math.min(left, 200));
    }
  }

  /** Resolve with the exit code; SIGKILL and resolve -1 after timeoutMs. */
  async exited(timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.running) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.proc.kill('SIGKILL');
        await this.changed(2000);
        return -1;
      }
      await this.changed(Math.min(left, 200));
    }
    return this.exitCode ?? null;
  }

  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    if ((await this.exited(graceMs)) === -1) return;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** VmRSS of a process in bytes (undefined when it is gone). */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux ABI that Node runs on). */
const USER_HZ = 100;

/** CPU time (user + system) a process has used so far, in seconds (undefined when it is gone). */
export function cpuSecondsOf(pid: number): number | undefined {
  const t = cpuTimesOf(pid);
  return t === undefined ? undefined : t.user + t.system;
}

/** User and system CPU time a process has used so far, in seconds (undefined when it is gone). */
export function cpuTimesOf(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / USER_HZ, system: Number(f[12]) / USER_HZ };
  } catch {
    return undefined;
  }
}
