/**
 * Network-namespace helpers for the CLI, the real-kernel tests and the benchmarks.
 *
 * Everything is synchronous and runs `ip` with argument arrays (no shell strings).
 * Namespaces live under /var/run/netns (what `ip netns add` creates); the TAP driver
 * opens /dev/net/tun inside one by its path (netnsPath), so kernel-side interfaces are
 * born there and never appear in the host namespace.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { StackError } from '../core/errno.js';

const NETNS_DIR = '/var/run/netns';
const NAME_RE = /^[A-Za-z0-9_.-]{1,200}$/;
/** CAP_NET_ADMIN and CAP_SYS_ADMIN bit numbers in /proc/self/status CapEff. */
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** Counter behind uniqueNetnsName(); with the pid it keeps names unique per process. */
let uniqueCounter = 0;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new StackError('EINVAL', `bad network namespace name '${name}' (use [A-Za-z0-9_.-])`);
}

/** Path of a named namespace, as the TAP driver's `netns` option wants it. */
export function netnsPath(name: string): string {
  checkName(name);
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/**
 * A namespace name unique to this process and call, e.g. `tcpip-tap-12345-3`. Other
 * engineers run tests at the same time, so the pid is part of it.
 */
export function uniqueNetnsName(prefix: string): string {
  uniqueCounter++;
  const name = `tcpip-${prefix}-${process.pid}-${uniqueCounter}`;
  checkName(name);
  return name;
}

/** `ip netns add name`, then bring its loopback up. Throws StackError(EEXIST) if it exists. */
export function createNetns(name: string): string {
  checkName(name);
  if (netnsExists(name)) throw new StackError('EEXIST', `network namespace '${name}' already exists`);
  run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/**
 * `ip netns del name`; idempotent (a missing namespace is fine). Kills nothing: processes
 * still inside keep the namespace alive until they exit; kill your own first, by pid.
 */
export function deleteNetns(name: string): void {
  checkName(name);
  if (!netnsExists(name)) return;
  const r = spawnSync('ip', ['netns', 'del', name], { encoding: 'utf8' });
  if (r.status !== 0 && netnsExists(name)) {
    throw new StackError('EBUSY', `ip netns del ${name} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  }
}

/** `ip -n name args...`; returns stdout. Throws StackError(EIO) with ip's stderr on failure. */
export function ipIn(name: string, ...args: string[]): string {
  checkName(name);
  return run('ip', ['-n', name, ...args]);
}

/** `ip netns exec name cmd args...`; returns stdout. */
export function execIn(name: string, cmd: string, args: readonly string[] = [], opts: { timeoutMs?: number; input?: string } = {}): string {
  checkName(name);
  return run('ip', ['netns', 'exec', name, cmd, ...args], opts);
}

/** Like execIn but never throws: exit status, stdout and stderr. */
export function tryExecIn(
  name: string,
  cmd: string,
  args: readonly string[] = [],
  opts: { timeoutMs?: number } = {},
): { status: number | null; stdout: string; stderr: string } {
  checkName(name);
  const r = spawnSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? r.error.message : '') };
}

/** Start `cmd args...` inside the namespace; the caller owns (and must kill) the child. */
export function spawnIn(name: string, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
  checkName(name);
  return spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Interface names in a namespace (or in ours when name is undefined). */
export function linkNames(name?: string): string[] {
  const out = name === undefined ? run('ip', ['-o', 'link', 'show']) : ipIn(name, '-o', 'link', 'show');
  const names: string[] = [];
  for (const line of out.split('\n')) {
    // "3: tap0: <BROADCAST,...>" or "5: veth0@if4: <...>"
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m !== null) names.push(m[1]!);
  }
  return names;
}

/** Kernel counters of one interface from `ip -s -j link show`. */
export function linkStats(name: string, ifname: string): { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; rxDropped: number; txDropped: number } {
  const json = JSON.parse(ipIn(name, '-s', '-j', 'link', 'show', 'dev', ifname)) as Array<{
    stats64?: { rx: { packets: number; bytes: number; dropped: number }; tx: { packets: number; bytes: number; dropped: number } };
  }>;
  const s = json[0]?.stats64;
  if (s === undefined) throw new StackError('EIO', `no stats for ${ifname} in ${name}`);
  return { rxPackets: s.rx.packets, rxBytes: s.rx.bytes, rxDropped: s.rx.dropped, txPackets: s.tx.packets, txBytes: s.tx.bytes, txDropped: s.tx.dropped };
}

/**
 * Can this process create TAP devices inside fresh network namespaces? Tests call this
 * and skip with the reason printed when not.
 */
export function tapAvailable(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `TAP needs Linux (this is ${process.platform})` };
  const caps = effectiveCaps();
  const root = process.getuid?.() === 0;
  if (!root && (caps === undefined || (caps & (1n << BigInt(CAP_NET_ADMIN))) === 0n)) {
    return { ok: false, reason: 'not root and no CAP_NET_ADMIN: run as root or grant CAP_NET_ADMIN' };
  }
  if (caps !== undefined && (caps & (1n << BigInt(CAP_SYS_ADMIN))) === 0n) {
    return { ok: false, reason: 'no CAP_SYS_ADMIN: cannot create or enter network namespaces' };
  }
  if (!existsSync('/dev/net/tun')) return { ok: false, reason: '/dev/net/tun is missing (modprobe tun, or pass --device /dev/net/tun to the container)' };
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return { ok: false, reason: "the 'ip' command (iproute2) is not installed" };
  const probe = uniqueNetnsName('probe');
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  try {
    if (r.status !== 0) return { ok: false, reason: `cannot create a network namespace: ${(r.stderr || r.error?.message || '').trim()}` };
  } finally {
    deleteNetns(probe);
  }
  return { ok: true };
}

function effectiveCaps(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? undefined : BigInt(`0x${m[1]}`);
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 30_000,
      input: opts.input,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    const detail = (err.stderr ?? '').trim() || err.message || String(e);
    throw new StackError('EIO', `${cmd} ${args.join(' ')} failed: ${detail}`);
  }
}
