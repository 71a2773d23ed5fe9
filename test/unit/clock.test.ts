import { describe, expect, it } from 'vitest';
import { ManualClock, type Timer } from '../../src/core/clock.js';
import { TimeHeap } from '../../src/core/heap.js';
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

describe('ManualClock against a model', () => {
  it('fires random arms, re-arms and cancels in (deadline, last-arm order), through heap compactions', () => {
    const c = new ManualClock(0);
    const rng = new SeededRng(7);
    const N = 50;
    const fired: string[] = [];
    const timers: Timer[] = [];
    // Model: per timer, its deadline and the sequence number of the arm() that set it.
    const model: ({ d: number; s: number } | undefined)[] = [];
    let armSeq = 0;
    for (let i = 0; i < N; i++) {
      timers.push(c.createTimer(() => fired.push(`${i}@${c.now()}`)));
      model.push(undefined);
    }
    for (let op = 0; op < 6000; op++) {
      const i = rng.nextInt(0, N);
      const r = rng.nextFloat();
      if (r < 0.6) {
        const d = c.now() + rng.nextInt(0, 40); // small range: many equal deadlines
        timers[i]!.arm(d);
        if (model[i]?.d !== d) model[i] = { d, s: armSeq++ }; // arm() to the same deadline keeps its place
      } else if (r < 0.8) {
        timers[i]!.cancel();
        model[i] = undefined;
      } else {
        const to = c.now() + rng.nextInt(0, 20);
        const due = model
          .map((m, k) => ({ m, k }))
          .filter((x): x is { m: { d: number; s: number }; k: number } => x.m !== undefined && x.m.d <= to)
          .sort((x, y) => x.m.d - y.m.d || x.m.s - y.m.s);
        const expected = due.map((x) => `${x.k}@${x.m.d}`);
        for (const x of due) model[x.k] = undefined;
        fired.length = 0;
        c.advanceTo(to);
        expect(fired).toEqual(expected);
        expect(timers.map((t) => t.deadline)).toEqual(model.map((m) => m?.d));
      }
    }
    // Stale entries were compacted away along the way: the heap stays near the live count.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect((c as any).heap.size).toBeLessThan(4 * N + 64);
  });
});

describe('TimeHeap', () => {
  it('pops in (time, insertion order); retain() keeps that order for the survivors', () => {
    const rng = new SeededRng(3);
    const h = new TimeHeap<number>();
    const items: { t: number; v: number }[] = [];
    for (let v = 0; v < 2000; v++) {
      const t = rng.nextInt(0, 50);
      h.push(t, v, v * 2);
      items.push({ t, v });
    }
    h.retain((v, tag) => tag === v * 2 && v % 3 !== 0);
    const expected = items.filter((x) => x.v % 3 !== 0).sort((a, b) => a.t - b.t || a.v - b.v);
    expect(h.size).toBe(expected.length);
    const got: { t: number; v: number }[] = [];
    while (h.size > 0) {
      const t = h.peekTime()!;
      expect(h.peekTag()).toBe(h.peekValue()! * 2);
      got.push({ t, v: h.pop()! });
    }
    expect(got).toEqual(expected);
    expect(h.pop()).toBeUndefined();
    expect(h.peekTime()).toBeUndefined();
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
