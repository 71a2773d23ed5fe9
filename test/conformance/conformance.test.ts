/**
 * Differential conformance: every scenario in scenarios/*.pkt runs against the Linux
 * kernel (in a private network namespace behind a TAP) and against our stack (virtual
 * time, in-memory link). A scenario counts only when both pass. See docs/conformance.md.
 *
 *   npx vitest run test/conformance                         # everything
 *   CONFORMANCE_FILTER=handshake npx vitest run test/conformance   # a subset (regex on names)
 *   CONFORMANCE_VERBOSE=1 ...                               # print every trace
 */
import { afterAll, describe, it } from 'vitest';
import { loadAllowlist, loadScenarios, Tally, runOne } from './suite.js';
import { linuxFramePath, linuxRunnerFactory } from './linux/runner.js';
import { stackRunnerFactory } from './stack/runner.js';
import type { RunnerFactory } from './runner.js';

const scenarios = loadScenarios();
const allowlist = loadAllowlist();
const tally = new Tally();

const runners: RunnerFactory[] = [linuxRunnerFactory, stackRunnerFactory];
const availability = new Map<string, { ok: boolean; reason?: string }>();
for (const f of runners) availability.set(f.name, await f.available());

for (const factory of runners) {
  const avail = availability.get(factory.name)!;
  if (!avail.ok) console.warn(`[conformance] ${factory.name} runner skipped: ${avail.reason}`);
  describe.sequential(`conformance on ${factory.name}`, () => {
    for (const script of scenarios) {
      const unsupported = factory.unsupported?.(script);
      const skip = !avail.ok || unsupported !== undefined;
      it.skipIf(skip)(script.name, { timeout: 120_000 }, async () => {
        const allow = allowlist.find((a) => a.scenario === script.name && (a.runner === factory.name || a.runner === '*'));
        const { outcome, message } = await runOne(script, factory, allow);
        tally.record(script.name, factory.name, outcome);
        if (message !== undefined && outcome !== 'fail') console.log(`[conformance] ${message}`);
        if (outcome === 'fail') throw new Error(message);
      });
      if (skip) {
        tally.record(script.name, factory.name, 'skipped');
        if (avail.ok && unsupported !== undefined) console.warn(`[conformance] ${script.name} skipped on ${factory.name}: ${unsupported}`);
      }
    }
  });
}

afterAll(() => {
  const why = linuxFramePath.tapLinkError === '' ? '' : ` (TapLink failed: ${linuxFramePath.tapLinkError})`;
  console.log(`[conformance] Linux frames via ${linuxFramePath.used === 'taplink' ? 'src/link/tap.ts (TapLink)' : linuxFramePath.used === 'helper' ? 'the Python helper' : 'nothing'}${why}`);
  console.log(`[conformance] ${tally.summary(scenarios.length)}`);
});
