// `npm test`: make sure the system tools are there, then run the whole vitest suite in two
// phases: the pure tests (unit, virtual-time simulations, scripted-peer TCP, sockets on the
// SimNetwork) in parallel, then the real-kernel tests (TAP, interop with Linux programs,
// the conformance suite) one file at a time, because their timing is real and the machine
// has 2 cores. `npm test -- <paths or vitest args>` runs just those, in one vitest run.
import { spawnSync } from 'node:child_process';
import { ensureTools } from './ensure-tools.mjs';

const REAL_KERNEL = ['test/tap', 'test/examples', 'test/conformance'];

function vitest(args) {
  const r = spawnSync('npx', ['vitest', 'run', ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

ensureTools();
const extra = process.argv.slice(2);
if (extra.length > 0) process.exit(vitest(extra));

const pure = vitest(REAL_KERNEL.flatMap((d) => ['--exclude', `${d}/**`]));
const real = vitest([...REAL_KERNEL, '--no-file-parallelism']);
if (pure !== 0 || real !== 0) {
  console.error(`npm test: ${pure !== 0 ? 'pure tests failed' : ''}${pure !== 0 && real !== 0 ? ', ' : ''}${real !== 0 ? 'real-kernel tests failed' : ''}`);
  process.exit(1);
}
