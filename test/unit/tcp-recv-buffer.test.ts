import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { seq, seqAdd, type Seq } from '../../src/core/seq.js';
import { MAX_OOO_RANGES, ReceiveBuffer, type SackBlock } from '../../src/tcp/recv-buffer.js';
import { BufferPool, MIN_STORAGE } from '../../src/tcp/send-buffer.js';

/** Bytes whose value encodes their sequence number, so misplaced data is visible. */
function seg(start: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = byteAt(start + i);
  return b;
}
function byteAt(s: number): number {
  const x = s >>> 0;
  return (x ^ (x >>> 8) ^ (x >>> 16) ^ (x >>> 24) ^ 0x5a) & 0xff;
}
function readAll(rb: ReceiveBuffer): Uint8Array {
  const out = new Uint8Array(rb.readable);
  expect(rb.read(out)).toBe(out.length);
  return out;
}
function blocks(list: [number, number][]): SackBlock[] {
  return list.map(([s, e]) => ({ start: seq(s), end: seq(e) }));
}

describe('ReceiveBuffer: in-order, out-of-order, overlap, duplicates', () => {
  it('in-order segments advance rcvNxt and read back intact', () => {
    const rb = new ReceiveBuffer(4096);
    rb.init(seq(1000));
    expect(rb.write(seq(1000), seg(1000, 100))).toBe(100);
    expect(rb.write(seq(1100), seg(1100, 50))).toBe(50);
    expect(rb.rcvNxt).toBe(1150);
    expect(rb.readable).toBe(150);
    expect(rb.window).toBe(4096 - 150);
    const part = new Uint8Array(60);
    expect(rb.read(part)).toBe(60);
    expect(part).toEqual(seg(1000, 60));
    expect(rb.window).toBe(4096 - 90);
    expect(readAll(rb)).toEqual(seg(1060, 90));
    expect(rb.readable).toBe(0);
    expect(rb.read(new Uint8Array(10))).toBe(0);
    expect(rb.write(seq(1150), new Uint8Array(0))).toBe(0);
  });

  it('out-of-order data is held, then delivered when the hole fills', () => {
    const rb = new ReceiveBuffer(4096);
    rb.init(seq(0));
    expect(rb.write(seq(200), seg(200, 100))).toBe(0);
    expect(rb.write(seq(100), seg(100, 50))).toBe(0);
    expect(rb.outOfOrderBytes).toBe(150);
    expect(rb.rangeCount).toBe(2);
    expect(rb.readable).toBe(0);
    expect(rb.window).toBe(4096); // out-of-order bytes live inside the window
    expect(rb.write(seq(0), seg(0, 100))).toBe(150); // fills [0,100), absorbs [100,150)
    expect(rb.rcvNxt).toBe(150);
    expect(rb.write(seq(150), seg(150, 50))).toBe(150); // absorbs [200,300)
    expect(rb.rcvNxt).toBe(300);
    expect(rb.outOfOrderBytes).toBe(0);
    expect(rb.rangeCount).toBe(0);
    expect(readAll(rb)).toEqual(seg(0, 300));
  });

  it('overlapping segments merge ranges and keep the bytes right', () => {
    const rb = new ReceiveBuffer(4096);
    rb.init(seq(0));
    rb.write(seq(100), seg(100, 100)); // [100,200)
    rb.write(seq(300), seg(300, 100)); // [300,400)
    rb.write(seq(150), seg(150, 200)); // [150,350) bridges both
    expect(rb.rangeCount).toBe(1);
    expect(rb.outOfOrderBytes).toBe(300);
    expect(rb.sackBlocks(4)).toEqual(blocks([[100, 400]]));
    // In-order segment overlapping the held range and running past it.
    expect(rb.write(seq(0), seg(0, 450))).toBe(450);
    expect(rb.outOfOrderBytes).toBe(0);
    // A segment starting below rcvNxt is trimmed at the front.
    expect(rb.write(seq(400), seg(400, 100))).toBe(50);
    expect(rb.rcvNxt).toBe(500);
    expect(readAll(rb)).toEqual(seg(0, 500));
  });

  it('duplicates are ignored and reported as D-SACK (RFC 2883)', () => {
    const rb = new ReceiveBuffer(4096);
    rb.init(seq(0));
    rb.write(seq(0), seg(0, 100));
    expect(rb.dsackBlock()).toBeUndefined();
    expect(rb.write(seq(0), seg(0, 100))).toBe(0); // whole duplicate below rcvNxt
    expect(rb.dsackBlock()).toEqual({ start: seq(0), end: seq(100) });
    expect(rb.stats.duplicate).toBe(1);
    expect(rb.write(seq(50), seg(50, 100))).toBe(50); // partial duplicate
    expect(rb.dsackBlock()).toEqual({ start: seq(50), end: seq(100) });
    rb.write(seq(300), seg(300, 100));
    expect(rb.dsackBlock()).toBeUndefined(); // cleared by the next write
    rb.write(seq(320), seg(320, 50)); // inside a held range: D-SACK + containing block
    expect(rb.dsackBlock()).toEqual({ start: seq(320), end: seq(370) });
    expect(rb.sackBlocks(4)).toEqual(blocks([[300, 400]]));
    expect(rb.outOfOrderBytes).toBe(100);
    expect(rb.readable).toBe(150);
  });
});

describe('ReceiveBuffer: wrap-around and limits', () => {
  it('wraps around the ring many times with out-of-order writes across the seam', () => {
    const rb = new ReceiveBuffer(100);
    rb.init(seq(0));
    // 13 bytes stay unread throughout, so the ring never empties and every round starts
    // 70 bytes further round the ring: segments and reads cross the seam.
    expect(rb.write(seq(0), seg(0, 13))).toBe(13);
    let next = 13;
    const out = new Uint8Array(100);
    for (let round = 0; round < 50; round++) {
      // 70 bytes in three segments, the last two first, then read the oldest 70.
      expect(rb.write(seq(next + 40), seg(next + 40, 30))).toBe(0);
      expect(rb.write(seq(next + 20), seg(next + 20, 20))).toBe(0);
      expect(rb.write(seq(next), seg(next, 20))).toBe(70);
      expect(rb.readable).toBe(83);
      expect(rb.read(out.subarray(0, 70))).toBe(70);
      expect(out.subarray(0, 70)).toEqual(seg(next - 13, 70));
      next += 70;
    }
    expect(rb.rcvNxt).toBe(3513);
    const peeked = new Uint8Array(13);
    expect(rb.peek(peeked, 0)).toBe(13);
    expect(peeked).toEqual(seg(3500, 13));
    expect(rb.peek(peeked, 5)).toBe(8);
    expect(peeked.subarray(0, 8)).toEqual(seg(3505, 8));
    expect(readAll(rb)).toEqual(seg(3500, 13));
  });

  it('works across the 2^32 sequence wrap', () => {
    const base = 0xffffff00;
    const rb = new ReceiveBuffer(2048);
    rb.init(seq(base));
    const s1 = seqAdd(seq(base), 200); // 0x000000c8, above the wrap
    expect(rb.write(s1, seg(base + 200, 300))).toBe(0);
    expect(rb.sackBlocks(3)).toEqual([{ start: s1, end: seqAdd(s1, 300) }]);
    expect(rb.write(seq(base + 100), seg(base + 100, 100))).toBe(0);
    expect(rb.write(seq(base), seg(base, 100))).toBe(500);
    expect(rb.rcvNxt).toBe((base + 500) >>> 0);
    expect(readAll(rb)).toEqual(seg(base, 500));
    // Duplicate from before the wrap is recognised as old.
    expect(rb.write(seq(base + 10), seg(base + 10, 20))).toBe(0);
    expect(rb.dsackBlock()).toEqual({ start: seq(base + 10), end: seq(base + 30) });
  });

  it('trims at the right window edge and drops segments beyond it', () => {
    const rb = new ReceiveBuffer(1000);
    rb.init(seq(0));
    expect(rb.write(seq(900), seg(900, 200))).toBe(0); // trimmed to [900,1000)
    expect(rb.outOfOrderBytes).toBe(100);
    expect(rb.stats.beyondWindow).toBe(1);
    expect(rb.write(seq(1000), seg(1000, 10))).toBe(0); // entirely beyond
    expect(rb.stats.beyondWindow).toBe(2);
    expect(rb.write(seq(0), seg(0, 900))).toBe(1000);
    expect(rb.window).toBe(0);
    expect(rb.write(seq(1000), seg(1000, 1))).toBe(0); // zero window
    expect(rb.rcvNxt).toBe(1000);
    const out = new Uint8Array(300);
    rb.read(out);
    expect(rb.window).toBe(300);
    expect(rb.write(seq(1000), seg(1000, 500))).toBe(300);
    expect(rb.window).toBe(0);
    expect(readAll(rb)).toEqual(seg(300, 1000));
  });

  it('capacity edge cases: 1-byte buffer, exactly full, invalid sizes', () => {
    const rb = new ReceiveBuffer(1);
    rb.init(seq(7));
    expect(rb.write(seq(7), seg(7, 5))).toBe(1);
    expect(rb.window).toBe(0);
    const one = new Uint8Array(1);
    expect(rb.read(one)).toBe(1);
    expect(one[0]).toBe(byteAt(7));
    expect(rb.write(seq(9), seg(9, 1))).toBe(0); // beyond a 1-byte window
    expect(rb.write(seq(8), seg(8, 1))).toBe(1);
    expect(() => new ReceiveBuffer(0)).toThrow(RangeError);
    expect(() => new ReceiveBuffer(1.5)).toThrow(RangeError);
  });

  it(`bounds the assembler at ${MAX_OOO_RANGES} ranges: new ranges dropped, extensions kept`, () => {
    const rb = new ReceiveBuffer(1 << 16);
    rb.init(seq(0));
    for (let k = 0; k < MAX_OOO_RANGES; k++) rb.write(seq(100 + 20 * k), seg(100 + 20 * k, 10));
    expect(rb.rangeCount).toBe(MAX_OOO_RANGES);
    const before = rb.outOfOrderBytes;
    // Disjoint: needs a 33rd range -> dropped.
    rb.write(seq(5000), seg(5000, 10));
    rb.write(seq(50), seg(50, 10));
    expect(rb.stats.assemblerFull).toBe(2);
    expect(rb.outOfOrderBytes).toBe(before);
    // Extends an existing range (touching its end): kept.
    rb.write(seq(110), seg(110, 5));
    expect(rb.outOfOrderBytes).toBe(before + 5);
    // Bridges two ranges: kept, one range fewer.
    rb.write(seq(115), seg(115, 5));
    expect(rb.rangeCount).toBe(MAX_OOO_RANGES - 1);
    // Now there is room again for a disjoint range.
    rb.write(seq(5000), seg(5000, 10));
    expect(rb.rangeCount).toBe(MAX_OOO_RANGES);
    // In-order data is always accepted.
    expect(rb.write(seq(0), seg(0, 100))).toBe(130); // [0,100) + [100,130)
  });

  it('setCapacity keeps held data and refuses to drop it', () => {
    const rb = new ReceiveBuffer(100);
    rb.init(seq(0));
    rb.write(seq(0), seg(0, 60));
    rb.read(new Uint8Array(50)); // head at ring index 50, 10 bytes readable
    rb.write(seq(60), seg(60, 30)); // in order, ring 60..90
    rb.write(seq(120), seg(120, 30)); // out of order, stored after the ring wraps (index 20..50)
    rb.setCapacity(500);
    expect(rb.capacity).toBe(500);
    expect(rb.write(seq(90), seg(90, 30))).toBe(60);
    expect(readAll(rb)).toEqual(seg(50, 100));
    rb.write(seq(200), seg(200, 10));
    rb.setCapacity(20); // held extent is 60 (rcvNxt 150 -> 210)
    expect(rb.capacity).toBe(60);
    expect(rb.write(seq(150), seg(150, 50))).toBe(60);
    expect(readAll(rb)).toEqual(seg(150, 60));
  });

  it('copies segment data (the caller may reuse its frame buffer at once)', () => {
    const rb = new ReceiveBuffer(4096);
    rb.init(seq(0));
    const d = seg(0, 100);
    rb.write(seq(0), d);
    d.fill(0);
    expect(readAll(rb)).toEqual(seg(0, 100));
  });
});

describe('ReceiveBuffer: storage on demand', () => {
  it('holds no storage until data arrives; the window comes from the capacity alone', () => {
    const rb = new ReceiveBuffer(256 * 1024);
    rb.init(seq(1000));
    expect(rb.storageBytes).toBe(0);
    expect(rb.window).toBe(256 * 1024);
    expect(rb.read(new Uint8Array(10))).toBe(0);
    expect(rb.write(seq(1000), seg(1000, 1000))).toBe(1000);
    expect(rb.storageBytes).toBe(MIN_STORAGE);
    expect(rb.window).toBe(256 * 1024 - 1000);
  });

  it('doubles while more is held, moves held bytes once, keeps out-of-order homes valid', () => {
    const rb = new ReceiveBuffer(256 * 1024);
    rb.init(seq(0));
    rb.write(seq(0), seg(0, 3000));
    expect(rb.read(new Uint8Array(2500))).toBe(2500); // head inside the 4 KiB storage
    rb.write(seq(3000), seg(3000, 1500)); // wraps the 4 KiB ring
    expect(rb.storageBytes).toBe(MIN_STORAGE);
    rb.write(seq(6000), seg(6000, 1000)); // out of order: needs 500 + 4000 bytes -> 8 KiB
    expect(rb.storageBytes).toBe(8192);
    rb.write(seq(40_000), seg(40_000, 1460)); // far out of order: 64 KiB
    expect(rb.storageBytes).toBe(65536);
    expect(rb.sackBlocks(4)).toEqual(blocks([[40_000, 41_460], [6000, 7000]]));
    expect(rb.write(seq(4500), seg(4500, 1500))).toBe(2500); // fills the first hole
    expect(readAll(rb)).toEqual(seg(2500, 4500));
    // Fill the rest in 1460-byte steps; the bytes come out in order.
    for (let s = 7000; s < 40_000; s += 1460) rb.write(seq(s), seg(s, Math.min(1460, 40_000 - s)));
    expect(rb.rcvNxt).toBe(seq(41_460));
    expect(readAll(rb)).toEqual(seg(7000, 34_460));
  });

  it('never takes more than the capacity, which need not be a power of two', () => {
    const rb = new ReceiveBuffer(10_000);
    rb.init(seq(0));
    rb.write(seq(9000), seg(9000, 2000)); // trimmed at the right edge 10,000
    expect(rb.storageBytes).toBe(10_000);
    expect(rb.write(seq(0), seg(0, 9000))).toBe(10_000);
    expect(rb.window).toBe(0);
    expect(readAll(rb)).toEqual(seg(0, 10_000));
    expect(rb.storageBytes).toBe(0);
  });

  it('gives its storage and assembler back when empty; the next storage fits the last peak', () => {
    const pool = new BufferPool();
    const rb = new ReceiveBuffer(256 * 1024, pool);
    rb.init(seq(0));
    rb.write(seq(20_000), seg(20_000, 1000)); // out of order: 32 KiB and the range arrays
    rb.write(seq(0), seg(0, 20_000));
    expect(rb.storageBytes).toBe(32_768);
    expect(readAll(rb)).toEqual(seg(0, 21_000));
    expect(rb.storageBytes).toBe(0);
    expect(pool.bytes).toBe(32_768);
    const reused = pool.reused;
    rb.write(seq(21_000), seg(21_000, 100)); // a small write takes the 32 KiB back: no regrowth
    expect(rb.storageBytes).toBe(32_768);
    expect(pool.reused).toBe(reused + 1);
    expect(pool.bytes).toBe(0);
    rb.write(seq(30_000), seg(30_000, 10)); // assembler arrays from the pool too
    expect(rb.rangeCount).toBe(1);
    expect(readAll(rb)).toEqual(seg(21_000, 100));
    expect(rb.storageBytes).toBe(32_768); // out-of-order data still held
    expect(rb.write(seq(21_100), seg(21_100, 8900))).toBe(8910);
    expect(readAll(rb)).toEqual(seg(21_100, 8910));
    expect(rb.storageBytes).toBe(0);
  });

  it('once grown, full segments written and read (emptying it each time) take no new storage', () => {
    const pool = new BufferPool();
    const rb = new ReceiveBuffer(256 * 1024, pool);
    rb.init(seq(0));
    const out = new Uint8Array(65536);
    let s = 0;
    const round = (): void => {
      for (let k = 0; k < 44; k++) {
        rb.write(seq(s), seg(s, 1460));
        s += 1460;
      }
      if (s % 7 === 0) rb.write(seq(s + 1460), seg(s + 1460, 1460)); // some out-of-order data now and then
      while (rb.readable > 0) rb.read(out);
    };
    for (let i = 0; i < 10; i++) round(); // grown, including a round with out-of-order data
    const fresh = pool.taken - pool.reused;
    for (let i = 0; i < 200; i++) round();
    expect(pool.taken - pool.reused).toBe(fresh);
    expect(pool.taken).toBeGreaterThan(100); // it did give back and take storage every round
  });

  it('init() discards and releases everything', () => {
    const pool = new BufferPool();
    const rb = new ReceiveBuffer(65536, pool);
    rb.init(seq(0));
    rb.write(seq(100), seg(100, 100));
    rb.init(seq(5000));
    expect([rb.storageBytes, rb.readable, rb.rangeCount, rb.window]).toEqual([0, 0, 0, 65536]);
    expect(pool.bytes).toBe(MIN_STORAGE);
  });
});

describe('ReceiveBuffer: SACK blocks in RFC 2018 section 4 order', () => {
  // "Assume the left window edge is 5000 and that the data transmitter sends a burst of 8
  //  segments, each containing 500 data bytes."
  const segStart = (k: number): number => 5000 + 500 * k;

  it('case 2: the first segment is dropped but the remaining 7 are received', () => {
    const rb = new ReceiveBuffer(65535);
    rb.init(seq(5000));
    const expected: [number, number][] = [
      [5500, 6000], [5500, 6500], [5500, 7000], [5500, 7500], [5500, 8000], [5500, 8500], [5500, 9000],
    ];
    for (let k = 1; k < 8; k++) {
      expect(rb.write(seq(segStart(k)), seg(segStart(k), 500))).toBe(0);
      expect(rb.rcvNxt).toBe(5000); // ACK stays 5000
      expect(rb.sackBlocks(4)).toEqual(blocks([expected[k - 1]!]));
    }
  });

  it('case 3: the 2nd, 4th, 6th and 8th segments are dropped; then 4th and 2nd arrive', () => {
    const rb = new ReceiveBuffer(65535);
    rb.init(seq(5000));
    const steps: { k: number; ack: number; sack: [number, number][] }[] = [
      { k: 0, ack: 5500, sack: [] },
      { k: 2, ack: 5500, sack: [[6000, 6500]] },
      { k: 4, ack: 5500, sack: [[7000, 7500], [6000, 6500]] },
      { k: 6, ack: 5500, sack: [[8000, 8500], [7000, 7500], [6000, 6500]] },
      // "Suppose that the 4th packet is received out of order ... a SACK option with a block of
      //  data from 6000 to 7500": first block 6000-7500, then 8000-8500.
      { k: 3, ack: 5500, sack: [[6000, 7500], [8000, 8500]] },
      // "Suppose that the 2nd packet is received out of order": ACK 7500, SACK 8000-8500.
      { k: 1, ack: 7500, sack: [[8000, 8500]] },
    ];
    for (const st of steps) {
      rb.write(seq(segStart(st.k)), seg(segStart(st.k), 500));
      expect(rb.rcvNxt, `after segment ${st.k}`).toBe(st.ack);
      expect(rb.sackBlocks(4), `after segment ${st.k}`).toEqual(blocks(st.sack));
    }
    // With room for only 2 blocks in the third step the oldest is the one left out.
    const rb2 = new ReceiveBuffer(65535);
    rb2.init(seq(5000));
    for (const k of [0, 2, 4, 6]) rb2.write(seq(segStart(k)), seg(segStart(k), 500));
    expect(rb2.sackBlocks(2)).toEqual(blocks([[8000, 8500], [7000, 7500]]));
    const out = new Uint32Array(8);
    expect(rb2.sackBlocksInto(out, 3)).toBe(3);
    expect([...out.subarray(0, 6)]).toEqual([8000, 8500, 7000, 7500, 6000, 6500]);
  });

  it('an in-order segment does not reorder the remaining blocks', () => {
    const rb = new ReceiveBuffer(65535);
    rb.init(seq(0));
    rb.write(seq(300), seg(300, 100)); // A
    rb.write(seq(100), seg(100, 100)); // B (more recent)
    rb.write(seq(500), seg(500, 100)); // C (most recent)
    expect(rb.sackBlocks(4)).toEqual(blocks([[500, 600], [100, 200], [300, 400]]));
    rb.write(seq(0), seg(0, 100)); // advances ACK to 200, absorbs B
    expect(rb.sackBlocks(4)).toEqual(blocks([[500, 600], [300, 400]]));
    rb.write(seq(350), seg(350, 10)); // duplicate inside A: A becomes first
    expect(rb.sackBlocks(4)).toEqual(blocks([[300, 400], [500, 600]]));
  });
});

describe('ReceiveBuffer: random differential test against a naive model', () => {
  /**
   * The model keeps one boolean per absolute byte offset (relative to the initial rcvNxt)
   * and recomputes everything from scratch; the SACK order is "max stamp of the accepted
   * writes inside the range", which is what RFC 2018 section 4 asks for.
   */
  class Model {
    have: boolean[] = [];
    nxt = 0; // absolute
    readPos = 0;
    writes: { s: number; e: number; stamp: number }[] = [];
    stamp = 0;
    readonly cap: number;
    constructor(cap: number) {
      this.cap = cap;
    }
    get readable(): number {
      return this.nxt - this.readPos;
    }
    ranges(): [number, number][] {
      const r: [number, number][] = [];
      const limit = this.readPos + this.cap;
      for (let i = this.nxt; i < limit; i++) {
        if (!this.have[i]) continue;
        let j = i;
        while (j < limit && this.have[j]) j++;
        r.push([i, j]);
        i = j;
      }
      return r;
    }
    write(s: number, len: number): number {
      const win = this.cap - this.readable;
      const a = Math.max(s, this.nxt);
      const b = Math.min(s + len, this.nxt + win);
      if (a >= b) return 0;
      if (a > this.nxt) {
        const rs = this.ranges();
        const touches = rs.some(([x, y]) => x <= b && y >= a);
        if (!touches && rs.length >= MAX_OOO_RANGES) return 0;
        this.writes.push({ s: a, e: b, stamp: ++this.stamp });
      }
      for (let i = a; i < b; i++) this.have[i] = true;
      const old = this.nxt;
      while (this.have[this.nxt]) this.nxt++;
      return this.nxt - old;
    }
    sack(max: number): [number, number][] {
      const rs = this.ranges().map(([x, y]) => {
        let st = -1;
        for (const w of this.writes) if (w.s < y && w.e > x) st = Math.max(st, w.stamp);
        return { x, y, st };
      });
      rs.sort((p, q) => q.st - p.st);
      return rs.slice(0, max).map(({ x, y }) => [x, y]);
    }
  }

  // Seeds 7 and 8 use tiny segments so the 32-range bound is hit often; seeds 9 and 10 use
  // capacities above MIN_STORAGE so the storage grows, empties and is taken again (pooled).
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
    it(`seed ${seed}: same rcvNxt, bytes, window and SACK blocks after every step`, () => {
      const rng = new SeededRng(seed);
      const tiny = seed === 7 || seed === 8;
      const big = seed >= 9;
      const cap = tiny ? rng.nextInt(600, 1000) : big ? rng.nextInt(9000, 20_000) : rng.nextInt(40, 400);
      const maxLen = tiny ? 4 : big ? 600 : 40;
      const base = seed % 2 === 0 ? 0xfffff000 : rng.nextU32(); // half the seeds cross 2^32
      const rb = new ReceiveBuffer(cap, big ? new BufferPool() : undefined);
      rb.init(seq(base));
      const m = new Model(cap);
      const out = new Uint8Array(cap);
      const abs = (x: number): Seq => seq(base + x);
      for (let step = 0; step < 4000; step++) {
        const op = rng.nextFloat();
        if (op < 0.75) {
          const s = m.nxt + rng.nextInt(-30, cap + 10);
          const len = rng.nextInt(1, maxLen);
          const got = rb.write(abs(s), seg(base + s, len));
          expect(got).toBe(m.write(s, len));
        } else {
          const want = rng.nextInt(0, cap);
          const n = rb.read(out.subarray(0, want));
          const exp = Math.min(want, m.readable);
          expect(n).toBe(exp);
          expect(out.subarray(0, n)).toEqual(seg(base + m.readPos, n));
          m.readPos += n;
        }
        expect(rb.rcvNxt).toBe(abs(m.nxt));
        expect(rb.readable).toBe(m.readable);
        expect(rb.window).toBe(cap - m.readable);
        const ranges = m.ranges();
        expect(rb.rangeCount).toBe(ranges.length);
        expect(rb.outOfOrderBytes).toBe(ranges.reduce((acc, [x, y]) => acc + y - x, 0));
        expect(rb.sackBlocks(4)).toEqual(m.sack(4).map(([x, y]) => ({ start: abs(x), end: abs(y) })));
        // Storage: none when nothing is held, a power of two (or the capacity) otherwise.
        const st = rb.storageBytes;
        if (m.readable === 0 && ranges.length === 0) expect(st).toBe(0);
        else expect(st === cap || (st >= MIN_STORAGE && st < cap && (st & (st - 1)) === 0)).toBe(true);
      }
      if (tiny) expect(rb.stats.assemblerFull).toBeGreaterThan(0);
    });
  }
});
