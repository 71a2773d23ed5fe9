/**
 * The suite: loads scenarios and the allow-list, runs one scenario on one runner, writes a
 * pcap for every failure, and keeps the tally printed at the end.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseScript } from './parse.js';
import type { Script } from './script.js';
import type { RunnerFactory } from './runner.js';
import { runScenario, type RunResult } from './executor.js';
import { writePcap } from './pcap.js';

export const SCENARIO_DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));
const ALLOWLIST = fileURLToPath(new URL('./allowlist.json', import.meta.url));

export function loadScenarios(filter = process.env.CONFORMANCE_FILTER): Script[] {
  const re = filter !== undefined && filter !== '' ? new RegExp(filter) : undefined;
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.pkt'))
    .sort()
    .map((f) => parseScript(readFileSync(join(SCENARIO_DIR, f), 'utf8'), `scenarios/${f}`, f.replace(/\.pkt$/, '')))
    .filter((s) => re === undefined || re.test(s.name));
}

export interface AllowEntry {
  scenario: string;
  runner: string;
  reason: string;
}

export function loadAllowlist(): AllowEntry[] {
  const j = JSON.parse(readFileSync(ALLOWLIST, 'utf8')) as { entries: AllowEntry[] };
  for (const e of j.entries) {
    if (typeof e.scenario !== 'string' || typeof e.runner !== 'string' || typeof e.reason !== 'string' || e.reason.length < 10) {
      throw new Error(`allowlist.json: every entry needs scenario, runner and a real reason: ${JSON.stringify(e)}`);
    }
  }
  return j.entries;
}

export type Outcome = 'pass' | 'fail' | 'allowed' | 'skipped';

export class Tally {
  readonly results = new Map<string, Map<string, Outcome>>();

  record(scenario: string, runner: string, o: Outcome): void {
    let m = this.results.get(scenario);
    if (m === undefined) this.results.set(scenario, (m = new Map()));
    m.set(runner, o);
  }

  count(runner: string, o: Outcome): number {
    let n = 0;
    for (const m of this.results.values()) if (m.get(runner) === o) n++;
    return n;
  }

  summary(total: number): string {
    const allowed = this.count('linux', 'allowed') + this.count('stack', 'allowed');
    const both = [...this.results.values()].filter((m) => m.get('linux') === 'pass' && m.get('stack') === 'pass').length;
    return `${total} scenarios, ${this.count('linux', 'pass')} pass on Linux, ${this.count('stack', 'pass')} pass on our stack, ` +
      `${allowed} allowed divergences (${both} pass on both)`;
  }
}

export function artifactsDir(): string {
  return process.env.CONFORMANCE_ARTIFACTS ?? join(tmpdir(), 'tcpip-conformance');
}

function report(script: Script, runner: string, r: RunResult): string {
  const pcap = writePcap(join(artifactsDir(), `${script.name}.${runner}.${process.pid}.pcap`), r.frames);
  return `${script.file} on ${runner}: ${r.error}\n  pcap: ${pcap}\n  trace:\n    ${r.trace.join('\n    ')}`;
}

/**
 * Run one scenario on one runner. Real-time runners get two retries when the failure was
 * about timing only (the machine is shared; a 25 ms scheduling hiccup is not a TCP bug).
 */
export async function runOne(script: Script, factory: RunnerFactory, allow: AllowEntry | undefined): Promise<{ outcome: Outcome; message?: string }> {
  let attempts = 0;
  let firstError = '';
  for (;;) {
    attempts++;
    const runner = await factory.create(script);
    let r: RunResult;
    try {
      r = await runScenario(script, runner);
    } finally {
      await runner.close();
    }
    if (process.env.CONFORMANCE_VERBOSE === '1') console.log(`${script.name} on ${factory.name}:\n  ${r.trace.join('\n  ')}`);
    if (r.ok) {
      if (allow !== undefined) {
        return { outcome: 'fail', message: `${script.name} passes on ${factory.name} but is allow-listed ("${allow.reason}"): remove the entry` };
      }
      return { outcome: 'pass', message: attempts > 1 ? `${script.name} passed on retry (first try: ${firstError})` : undefined };
    }
    if (r.timing && runner.timeKind === 'real' && attempts < 3) {
      firstError = r.error ?? '';
      continue;
    }
    const message = report(script, factory.name, r);
    if (allow !== undefined) return { outcome: 'allowed', message: `allowed divergence: ${allow.reason}\n${message}` };
    return { outcome: 'fail', message };
  }
}
