/**
 * Namespace helpers for the Linux runner. Argument arrays only (no shell strings); every
 * namespace name is unique per run (tcpip-conf-<pid>-<counter>) and deleted in finally.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let counter = 0;

export function uniqueNetnsName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

export function createNetns(name: string): void {
  execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Idempotent: a namespace that is already gone is fine. */
export function deleteNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

/** Run `ip -n <ns> -batch -` with one command per line. */
export function ipBatch(ns: string, commands: string[]): void {
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: commands.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
}

export function netnsExec(ns: string, cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let availability: { ok: boolean; reason?: string } | undefined;

/** Can this process create namespaces and TAPs? (root, /dev/net/tun, ip, python3) */
export function netnsAvailable(): { ok: boolean; reason?: string } {
  if (availability !== undefined) return availability;
  availability = probe();
  return availability;
}

function probe(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (needs CAP_NET_ADMIN to create namespaces and TAPs)' };
  if (!existsSync('/dev/net/tun')) return { ok: false, reason: '/dev/net/tun is missing' };
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return { ok: false, reason: "'ip' (iproute2) is not installed" };
  if (spawnSync('python3', ['-c', 'import json'], { stdio: 'ignore' }).status !== 0) return { ok: false, reason: 'python3 is not installed' };
  const ns = uniqueNetnsName('tcpip-conf-probe');
  try {
    createNetns(ns);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `cannot create a network namespace: ${(e as Error).message}` };
  } finally {
    deleteNetns(ns);
  }
}
