/**
 * End-to-end bulk transfers between two TcpLayers over an impaired path (virtual time):
 * every byte arrives intact (sha256 compared) and nothing hangs, for a fixed set of seeds.
 */
import { describe, expect, it } from 'vitest';
import { TcpSim, type PathOptions } from '../helpers/tcp-sim.js';

const MB = 1 << 20;
const SEEDS = [1, 2, 3];

function run(seed: number, size: number, path: PathOptions, extra: Partial<ConstructorParameters<typeof TcpSim>[0]> = {}) {
  const sim = new TcpSim({ seed, path, ...extra });
  const r = sim.transfer(size);
  expect(r.received, `seed ${seed}`).toBe(size);
  expect(r.rxHash, `seed ${seed}`).toBe(r.txHash);
  return { sim, r };
}

describe('1 MB transfers', () => {
  for (const loss of [0, 0.01, 0.05, 0.1]) {
    for (const seed of SEEDS) {
      it(`loss ${loss * 100}% seed ${seed}`, () => {
        const { r } = run(seed, MB, { delayMs: 5, loss });
        if (loss === 0) expect(r.clientStats.RetransSegs).toBe(0);
      });
    }
  }

  for (const seed of SEEDS) {
    it(`reordering, duplication, jitter, corruption together, seed ${seed}`, () => {
      const { sim, r } = run(seed, MB, { delayMs: 10, jitterMs: 3, reorder: 0.05, reorderMs: 8, duplicate: 0.03, corrupt: 0.02, loss: 0.01 });
      // Corrupted segments were caught by the checksum (counted, not delivered).
      const corrupted = sim.c2s.corrupted + sim.s2c.corrupted;
      expect(corrupted).toBeGreaterThan(0);
      expect(r.serverStats.InCsumErrors + r.clientStats.InCsumErrors).toBeGreaterThan(0);
      expect(r.serverStats.InErrs + r.clientStats.InErrs).toBeLessThanOrEqual(corrupted);
    });
  }

  it('without SACK or timestamps (NewReno recovery, Karn timing)', () => {
    run(4, MB, { delayMs: 5, loss: 0.03 }, { config: { sack: false, timestamps: false } });
  });

  it('without window scaling (64 KB window)', () => {
    run(5, MB, { delayMs: 20, loss: 0.02 }, { config: { windowScaling: false } });
  });

  it('with a long delay and a bottleneck queue (congestion losses)', () => {
    const { r } = run(6, MB, { delayMs: 50, rateBytesPerMs: 1250, queueBytes: 64 * 1024 });
    expect(r.clientStats.RetransSegs).toBeGreaterThan(0);
  });
});

describe('10 MB transfers', () => {
  for (const loss of [0, 0.01, 0.05, 0.1]) {
    for (const seed of SEEDS) {
      it(`loss ${loss * 100}% seed ${seed}`, () => {
        run(seed, 10 * MB, { delayMs: 5, loss });
      });
    }
  }
  it('reordering + duplication + corruption, seed 2', () => {
    run(2, 10 * MB, { delayMs: 10, jitterMs: 2, reorder: 0.02, reorderMs: 6, duplicate: 0.02, corrupt: 0.01, loss: 0.005 });
  });
});
