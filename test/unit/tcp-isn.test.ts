import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { seqDiff, seqGt } from '../../src/core/seq.js';
import { IsnGenerator, type FourTuple } from '../../src/tcp/isn.js';

const T: FourTuple = { localAddr: 0x0a4d0001, localPort: 80, remoteAddr: 0x0a4d0002, remotePort: 40000 };

describe('IsnGenerator (RFC 6528)', () => {
  it('advances by one per 4 microseconds for a fixed tuple (M is the 4 us timer)', () => {
    const clock = new ManualClock(1000);
    const g = new IsnGenerator(clock, new SeededRng(1));
    const a = g.next(T);
    clock.advance(1); // 1 ms = 250 ticks
    const b = g.next(T);
    expect(seqDiff(b, a)).toBe(250);
    clock.advance(0.004); // one tick
    const c = g.next(T);
    expect(seqDiff(c, b)).toBe(1);
    clock.advance(60_000); // a minute: 15,000,000 ticks
    const d = g.next(T);
    expect(seqDiff(d, c)).toBe(15_000_000);
    expect(seqGt(d, c)).toBe(true);
    // Same instant, same tuple: the same value (F is a function, not random).
    expect(g.next(T)).toBe(d);
  });

  it('keeps increasing (modulo 2^32) across the wrap of M', () => {
    const clock = new ManualClock(0);
    const g = new IsnGenerator(clock, new SeededRng(2));
    let prev = g.next(T);
    // Step through more than one full wrap (2^32 ticks = ~17.18e6 ms) in 1000 s steps.
    for (let i = 0; i < 20; i++) {
      clock.advance(1_000_000);
      const cur = g.next(T);
      expect(seqDiff(cur, prev)).toBe((1_000_000 * 250) | 0);
      prev = cur;
    }
  });

  it('differs across tuples at the same instant (every tuple field matters)', () => {
    const clock = new ManualClock(5);
    const g = new IsnGenerator(clock, new SeededRng(3));
    const base = g.next(T);
    const variants: FourTuple[] = [
      { ...T, localAddr: T.localAddr + 1 },
      { ...T, remoteAddr: T.remoteAddr + 1 },
      { ...T, localPort: T.localPort + 1 },
      { ...T, remotePort: T.remotePort + 1 },
      { ...T, localPort: T.remotePort, remotePort: T.localPort },
    ];
    const seen = new Set<number>([base]);
    for (const v of variants) seen.add(g.next(v));
    expect(seen.size).toBe(variants.length + 1);
    // Offsets look uniform: over many tuples the top bit is set about half the time.
    let top = 0;
    for (let p = 0; p < 2000; p++) if (g.next({ ...T, remotePort: p }) >>> 31) top++;
    expect(top).toBeGreaterThan(850);
    expect(top).toBeLessThan(1150);
  });

  it('depends on the secret drawn from the Rng', () => {
    const clock = new ManualClock(5);
    const a = new IsnGenerator(clock, new SeededRng(10)).next(T);
    const b = new IsnGenerator(clock, new SeededRng(11)).next(T);
    const a2 = new IsnGenerator(clock, new SeededRng(10)).next(T);
    expect(a).not.toBe(b);
    expect(a2).toBe(a);
  });
});
