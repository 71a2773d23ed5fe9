/**
 * Test-side helpers for real-kernel tests: whether to skip (printed, never silent), a
 * bounded wait, and small readers of kernel state inside a namespace.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ipIn, tapAvailable } from '../../src/cli/netns.js';
import { packageRoot } from '../../src/link/tap.js';

/**
 * Undefined when TAP tests can run here; otherwise the reason, already printed to the
 * console so a skipped suite is visible in the test output.
 */
export function tapSkipReason(suite: string): string | undefined {
  const avail = tapAvailable();
  let reason = avail.ok ? undefined : avail.reason;
  if (reason === undefined && !existsSync(join(packageRoot(), 'build', 'Release', 'tap.node'))) {
    reason = 'native addon build/Release/tap.node is not built (run npm install)';
  }
  if (reason !== undefined) console.warn(`[${suite}] SKIPPED: ${reason}`);
  return reason;
}

/** Resolve once `pred()` is true; reject after `timeoutMs` naming what was awaited. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The kernel-side MAC address of an interface in a namespace. */
export function linkMac(ns: string, ifname: string): Uint8Array {
  const json = JSON.parse(ipIn(ns, '-j', 'link', 'show', 'dev', ifname)) as Array<{ address: string }>;
  const addr = json[0]?.address;
  if (addr === undefined) throw new Error(`no address for ${ifname} in ${ns}`);
  return Uint8Array.from(addr.split(':').map((h) => parseInt(h, 16)));
}

export function macString(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
