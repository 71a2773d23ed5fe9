/**
 * Micro-benchmark of the Internet checksum (src/ip/checksum.ts) against a plain
 * byte-at-a-time loop, for 64, 1500 and 65535-byte inputs.
 *
 *   npx vite-node bench/micro-checksum.ts            (BENCH_TIME_MS=500 by default)
 *
 * Prints one JSON object: per size and implementation, checksums per second and GB/s.
 * Each timed iteration runs a batch of calls so that per-iteration timer overhead does
 * not dominate the 64-byte case.
 */
import { Bench } from 'tinybench';
import { checksum } from '../src/ip/checksum.js';

function byteLoop(b: Uint8Array): number {
  let s = 0;
  const n = b.length;
  let i = 0;
  for (; i + 1 < n; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < n) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const sizes = [64, 1500, 65535];
const impls: Record<string, (b: Uint8Array) => number> = { checksum: (b) => checksum(b), byteLoop };
const time = Number(process.env['BENCH_TIME_MS'] ?? 500);
const bench = new Bench({ time, warmupTime: 100 });
let sink = 0;
const batches = new Map<string, { size: number; batch: number; impl: string }>();

for (const size of sizes) {
  // An odd byte offset: views into frames are rarely aligned.
  const backing = new Uint8Array(size + 1);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 31 + 7) & 0xff;
  const view = backing.subarray(1);
  const batch = Math.max(1, Math.floor(65536 / size));
  for (const [name, fn] of Object.entries(impls)) {
    const task = `${name}/${size}`;
    batches.set(task, { size, batch, impl: name });
    bench.add(task, () => {
      for (let k = 0; k < batch; k++) sink ^= fn(view);
    });
  }
}

await bench.run();

const results: Record<string, unknown>[] = [];
for (const t of bench.tasks) {
  const meta = batches.get(t.name)!;
  const r = t.result;
  if (r.state !== 'completed') {
    results.push({ task: t.name, state: r.state });
    continue;
  }
  const opsPerSec = (1000 / r.period) * meta.batch;
  results.push({
    impl: meta.impl,
    bytes: meta.size,
    opsPerSec: Math.round(opsPerSec),
    nsPerOp: Number((1e9 / opsPerSec).toFixed(1)),
    gbPerSec: Number(((opsPerSec * meta.size) / 1e9).toFixed(2)),
  });
}
console.log(JSON.stringify({ bench: 'micro-checksum', node: process.version, sink: sink & 1, results }, null, 2));
