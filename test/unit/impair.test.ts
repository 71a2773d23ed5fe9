import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { impair, type ImpairOptions } from '../../src/link/impair.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';

/** An inner link that records what reaches it: (time, frame copy). */
class RecordingLink implements Link {
  readonly mtu = 1500;
  sent: { t: number; f: Uint8Array }[] = [];
  closed = false;
  receiver: LinkReceiver | undefined;
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  send(frame: Uint8Array): boolean {
    this.sent.push({ t: this.clock.now(), f: frame.slice() });
    return true;
  }
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  close(): void {
    this.closed = true;
  }
}

/** Frame `i`: 100 bytes, the index in bytes 0..3, the rest a fixed pattern. */
function numbered(i: number, len = 100): Uint8Array {
  const f = new Uint8Array(len);
  for (let k = 4; k < len; k++) f[k] = (k * 37) & 255;
  new DataView(f.buffer).setUint32(0, i);
  return f;
}
const idOf = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(0);

function run(opts: ImpairOptions, seed: number, n: number, gapMs = 1) {
  const clock = new ManualClock(0);
  const inner = new RecordingLink(clock);
  const link = impair(inner, clock, new SeededRng(seed), opts);
  for (let i = 0; i < n; i++) {
    link.send(numbered(i));
    clock.advance(gapMs);
  }
  clock.advance(10_000);
  return { inner, link, clock };
}

/** Lengths of runs of consecutive lost frame indexes. */
function lossRuns(n: number, received: Set<number>): number[] {
  const runs: number[] = [];
  let cur = 0;
  for (let i = 0; i < n; i++) {
    if (!received.has(i)) cur++;
    else if (cur > 0) {
      runs.push(cur);
      cur = 0;
    }
  }
  if (cur > 0) runs.push(cur);
  return runs;
}

const N = 20_000;

describe('impair', () => {
  it('passes frames through untouched and synchronously with no impairment', () => {
    const clock = new ManualClock(0);
    const inner = new RecordingLink(clock);
    const link = impair(inner, clock, new SeededRng(1));
    expect(link.send(numbered(5))).toBe(true);
    expect(inner.sent.length).toBe(1);
    expect(inner.sent[0]!.f).toEqual(numbered(5));
    expect(link.mtu).toBe(1500);
    const r: LinkReceiver = { receive: () => {} };
    link.setReceiver(r);
    expect(inner.receiver).toBe(r);
  });

  it.each([1, 2, 3])('uniform loss rate is within tolerance of the setting (seed %i)', (seed) => {
    const { inner, link } = run({ loss: 0.1 }, seed, N);
    const rate = 1 - inner.sent.length / N;
    // 3 sigma of a binomial(20000, 0.1) proportion is ~0.0064
    expect(Math.abs(rate - 0.1)).toBeLessThan(0.0065);
    expect(link.counters.dropped).toBe(N - inner.sent.length);
    expect(link.counters.offered).toBe(N);
  });

  it('duplication rate is within tolerance; duplicates are identical copies', () => {
    const { inner, link } = run({ duplicate: 0.05 }, 11, N);
    const rate = inner.sent.length / N - 1;
    expect(Math.abs(rate - 0.05)).toBeLessThan(0.005);
    expect(link.counters.duplicated).toBe(inner.sent.length - N);
    const seen = new Map<number, number>();
    let altered = 0;
    for (const { f } of inner.sent) {
      seen.set(idOf(f), (seen.get(idOf(f)) ?? 0) + 1);
      if (Buffer.compare(f, numbered(idOf(f))) !== 0) altered++;
    }
    expect(altered).toBe(0);
    expect(seen.size).toBe(N);
    expect(Math.max(...seen.values())).toBe(2);
  });

  it('corruption flips exactly one bit, anywhere in the frame, at the set rate', () => {
    const { inner, link } = run({ corrupt: 0.05 }, 5, N);
    let corrupted = 0;
    let beyondEthernetHeader = 0;
    for (const { f } of inner.sent) {
      // The index bytes may be hit too; compare against every candidate by bit distance.
      const ref = new Uint8Array(f.length);
      for (let k = 4; k < f.length; k++) ref[k] = (k * 37) & 255;
      ref.set(f.subarray(0, 4));
      let bits = 0;
      let where = -1;
      for (let k = 4; k < f.length; k++) {
        const x = f[k]! ^ ref[k]!;
        if (x !== 0) where = k;
        for (let v = x; v; v &= v - 1) bits++;
      }
      if (bits > 0) {
        expect(bits).toBe(1);
        corrupted++;
        if (where >= 14) beyondEthernetHeader++;
      }
    }
    // Flips in bytes 0..3 are invisible to this check: expect ~96% of counted corruptions.
    expect(Math.abs(link.counters.corrupted / N - 0.05)).toBeLessThan(0.005);
    expect(corrupted).toBeGreaterThan(link.counters.corrupted * 0.9);
    expect(corrupted).toBeLessThanOrEqual(link.counters.corrupted);
    expect(beyondEthernetHeader / corrupted).toBeGreaterThan(0.8);
  });

  it('corruption never touches the caller buffer', () => {
    const clock = new ManualClock(0);
    const inner = new RecordingLink(clock);
    const link = impair(inner, clock, new SeededRng(1), { corrupt: 1 });
    const f = numbered(1);
    link.send(f);
    expect(f).toEqual(numbered(1));
    expect(inner.sent[0]!.f).not.toEqual(numbered(1));
  });

  it('Gilbert–Elliott burst loss: same average rate as uniform, much longer loss runs', () => {
    // pi_bad = p / (p + r) = 0.01 / 0.2 = 0.05; mean burst 1 / r ~ 5.3
    const burst = run({ burst: { pGoodToBad: 0.01, pBadToGood: 0.19 } }, 3, N);
    const uniform = run({ loss: 0.05 }, 3, N);
    const recvIds = (r: typeof burst) => new Set(r.inner.sent.map(({ f }) => idOf(f)));
    const bRate = 1 - burst.inner.sent.length / N;
    const uRate = 1 - uniform.inner.sent.length / N;
    expect(Math.abs(bRate - 0.05)).toBeLessThan(0.02);
    expect(Math.abs(uRate - 0.05)).toBeLessThan(0.005);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const bRuns = lossRuns(N, recvIds(burst));
    const uRuns = lossRuns(N, recvIds(uniform));
    expect(mean(uRuns)).toBeLessThan(1.2);
    expect(mean(bRuns)).toBeGreaterThan(3.5);
    expect(Math.max(...bRuns)).toBeGreaterThan(Math.max(...uRuns));
  });

  it('same seed -> identical sequence; different seed -> different', () => {
    const opts: ImpairOptions = { loss: 0.05, duplicate: 0.03, corrupt: 0.03, reorder: 0.05, delayMs: 3, jitterMs: 2 };
    const trace = (seed: number) =>
      run(opts, seed, 2000).inner.sent.map(({ t, f }) => `${t.toFixed(6)}:${idOf(f)}:${Buffer.from(f).toString('hex')}`);
    const a = trace(42);
    expect(trace(42)).toEqual(a);
    expect(trace(43)).not.toEqual(a);
  });

  it('delay and jitter: every frame leaves within [delay, delay + jitter)', () => {
    const clock = new ManualClock(0);
    const inner = new RecordingLink(clock);
    const link = impair(inner, clock, new SeededRng(9), { delayMs: 20, jitterMs: 5 });
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 500; i++) {
      sentAt.set(i, clock.now());
      link.send(numbered(i));
      clock.advance(0.1);
    }
    expect(link.held).toBeGreaterThan(0);
    clock.advance(100);
    expect(inner.sent.length).toBe(500);
    const lat = inner.sent.map(({ t, f }) => t - sentAt.get(idOf(f))!);
    expect(Math.min(...lat)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...lat)).toBeLessThan(25);
    expect(Math.max(...lat) - Math.min(...lat)).toBeGreaterThan(4); // jitter is really applied
  });

  it('reorder: held-back frames are overtaken by later ones', () => {
    const { inner, link } = run({ reorder: 0.1, reorderDelayMs: 5 }, 8, 2000);
    expect(Math.abs(link.counters.reordered / 2000 - 0.1)).toBeLessThan(0.03);
    const order = inner.sent.map(({ f }) => idOf(f));
    expect(order.length).toBe(2000);
    expect([...order].sort((x, y) => x - y)).toEqual([...Array(2000).keys()]);
    let inversions = 0;
    for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) inversions++;
    // Each held frame lands after ~5 later ones: roughly one descent per held frame.
    expect(inversions).toBeGreaterThan(link.counters.reordered * 0.7);
    expect(inversions).toBeLessThanOrEqual(link.counters.reordered);
  });

  it('rate limit serialises frames and tail-drops when the queue is full', () => {
    const clock = new ManualClock(0);
    const inner = new RecordingLink(clock);
    // 100-byte frames at 800 kbit/s: 1 ms each.
    const link = impair(inner, clock, new SeededRng(1), { bandwidthBps: 800_000, queueFrames: 4 });
    const ok = [0, 1, 2, 3, 4, 5].map((i) => link.send(numbered(i)));
    expect(ok).toEqual([true, true, true, true, false, false]);
    expect(link.counters.queueDrops).toBe(2);
    clock.advance(10);
    expect(inner.sent.map(({ t, f }) => [t, idOf(f)])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
  });

  it('close() discards held frames and closes the inner link', () => {
    const clock = new ManualClock(0);
    const inner = new RecordingLink(clock);
    const link = impair(inner, clock, new SeededRng(1), { delayMs: 5 });
    link.send(numbered(1));
    link.close();
    clock.advance(10);
    expect(inner.sent).toEqual([]);
    expect(inner.closed).toBe(true);
    expect(link.send(numbered(2))).toBe(false);
  });

  it('rejects nonsense options', () => {
    const clock = new ManualClock(0);
    expect(() => impair(new RecordingLink(clock), clock, new SeededRng(1), { loss: -0.1 })).toThrow(RangeError);
    expect(() => impair(new RecordingLink(clock), clock, new SeededRng(1), { delayMs: NaN })).toThrow(RangeError);
  });

  it('bounds the delayed frames it holds (maxHeld), counting the excess in heldDrops', () => {
    const clock = new ManualClock(0);
    const inner = new RecordingLink(clock);
    const link = impair(inner, clock, new SeededRng(1), { delayMs: 5, maxHeld: 3 });
    const verdicts = [0, 1, 2, 3, 4].map((i) => link.send(numbered(i)));
    expect(verdicts).toEqual([true, true, true, false, false]);
    expect(link.held).toBe(3);
    expect(link.counters.heldDrops).toBe(2);
    clock.advance(5);
    expect(inner.sent.map((s) => idOf(s.f))).toEqual([0, 1, 2]);
    expect(link.held).toBe(0);
  });
});
