// `npm run bench:micro`: builds, then runs every micro-benchmark (tinybench) in
// dist/bench/micro-*.js one after another and prints their JSON results as one array.
// No root, no network: pure CPU cost of the checksum, the IPv4 path, TCP header parsing,
// segment processing and the TCP building blocks. BENCH_TIME_MS sets the time per task.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: ['ignore', 2, 2] });
if (tsc.status !== 0) process.stderr.write('[bench:micro] tsc reported errors (emitted anyway)\n');
const dir = join(root, 'dist', 'bench');
const files = readdirSync(dir).filter((f) => /^micro-.*\.js$/.test(f)).sort();
const out = [];
for (const f of files) {
  process.stderr.write(`[bench:micro] ${f}\n`);
  const r = spawnSync(process.execPath, [join(dir, f)], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    out.push({ bench: f, error: `exit ${r.status}` });
    continue;
  }
  out.push(JSON.parse(r.stdout));
}
console.log(JSON.stringify(out, null, 2));
