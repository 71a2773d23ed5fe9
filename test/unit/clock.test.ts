import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { seq, seqAdd, seqGt, seqLt, seqDiff } from '../../src/core/seq.js';

describe('ManualClock', () => {
  it('fires timers in deadline then insertion order, with now() at the deadline', () => {
    const c = new ManualClock(0);
    const log: string[] = [];
    const a = c.createTimer(() => log.push(`a@${c.now()}`));
    const b = c.createTimer(() => log.push(`b@${c.now()}`));
    const d = c.createTimer(() => log.push(`d@${c.now()}`));
    b.arm(10);
    a.arm(10);
    d.arm(5);
    c.advance(20);
    expect(log).toEqual(['d@5', 'b@10', 'a@10']);
    expect(c.now()).toBe(20);
  });

  it('re-arming replaces the deadline and cancel disarms', () => {
    const c = new ManualClock(0);
    let n = 0;
    const t = c.createTimer(() => n++);
    t.arm(10);
    t.arm(30);
    c.advance(20);
    expect(n).toBe(0);
    expect(t.deadline).toBe(30);
    t.cancel();
    c.advance(100);
    expect(n).toBe(0);
    expect(c.nextDeadline()).toBeUndefined();
  });

  it('keeps the heap bounded when one timer is re-armed many times', () => {
    const c = new ManualClock(0);
    const t = c.createTimer(() => {});
    for (let i = 0; i < 100_000; i++) t.arm(1000 + i);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect((c as any).heap.size).toBeLessThan(300);
  });

  it('a timer armed from inside a callback at the current time still fires', () => {
    const c = new ManualClock(0);
    const log: number[] = [];
    const t2 = c.createTimer(() => log.push(2));
    const t1 = c.createTimer(() => {
      log.push(1);
      t2.arm(c.now());
    });
    t1.arm(5);
    c.advance(5);
    expect(log).toEqual([1, 2]);
  });
});

describe('SeededRng', () => {
  it('replays from its seed', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    for (let i = 0; i < 100; i++) expect(a.nextU32()).toBe(b.nextU32());
    expect(new SeededRng(1).nextU32()).not.toBe(new SeededRng(2).nextU32());
  });

  it('is roughly uniform', () => {
    const r = new SeededRng(7);
    let sum = 0;
    for (let i = 0; i < 10000; i++) sum += r.nextFloat();
    expect(sum / 10000).toBeGreaterThan(0.48);
    expect(sum / 10000).toBeLessThan(0.52);
  });
});

describe('seq arithmetic', () => {
  it('compares across the 2^32 wrap', () => {
    const a = seq(0xfffffff0);
    const b = seqAdd(a, 0x20);
    expect(b).toBe(0x10);
    expect(seqLt(a, b)).toBe(true);
    expect(seqGt(b, a)).toBe(true);
    expect(seqDiff(b, a)).toBe(0x20);
  });
});
