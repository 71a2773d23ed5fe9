/**
 * The in-memory figure in its own process (a hang or crash of the stack cannot take the
 * suite down): our stack <-> our stack over the in-memory link on one thread.
 *
 *   node dist/bench/stack-memory.js MTU SECONDS     -> one JSON line {bytes, seconds, gbps, virtualMs}
 */
import { memoryThroughput } from './stack-adapter.js';

const mtu = Number(process.argv[2] ?? 1500);
const seconds = Number(process.argv[3] ?? 2);
memoryThroughput(mtu, seconds).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`stack-memory: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
