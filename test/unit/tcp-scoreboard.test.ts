import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { seq, seqAdd, seqDiff, type Seq } from '../../src/core/seq.js';
import { MAX_SACK_RANGES, SackScoreboard, type SackBlock } from '../../src/tcp/scoreboard.js';

const MSS = 1000;

describe('SackScoreboard: a walk through RFC 6675 with 10 segments, segments 3 and 6 lost', () => {
  // Segment k (1..10) is [base + (k-1)*1000, base + k*1000). The receiver gets 1, 2, 4, 5, 7,
  // 8, 9, 10; segments 3 and 6 are lost. Run at a small base and across the 2^32 wrap.
  for (const base of [1000, 0xfffff800]) {
    it(`base ${base.toString(16)}: IsLost, SetPipe and NextSeg at each step`, () => {
      const at = (off: number): Seq => seqAdd(seq(base), off);
      const blk = (s: number, e: number): SackBlock => ({ start: at(s), end: at(e) });
      const sb = new SackScoreboard();
      const sndNxt = at(10000);
      let sndUna = at(2000); // segments 1 and 2 cumulatively ACKed
      let highRxt = sndUna; // RFC 6675 section 5: HighRxt = HighACK at the start
      const next = (newData = 0, rescueRxt?: Seq) =>
        sb.nextSeg({ sndUna, sndNxt, highRxt, rescueRxt, recoveryPoint: sndNxt, mss: MSS, newDataLimit: at(10000 + newData) });
      const rel = (r: { start: Seq; end: Seq; rule: number } | undefined) =>
        r && { start: seqDiff(r.start, at(0)), end: seqDiff(r.end, at(0)), rule: r.rule };

      // Segment 4 arrives: SACK 3000-4000.
      expect(sb.update(sndUna, sndNxt, [blk(3000, 4000)])).toEqual({ newlySacked: 1000, dsack: false });
      expect(sb.isLost(at(2000), MSS)).toBe(false); // 1 range, 1000 bytes
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(7000);

      // Segment 5: SACK 3000-5000 (2000 bytes: not MORE than 2*SMSS).
      sb.update(sndUna, sndNxt, [blk(3000, 5000)]);
      expect(sb.isLost(at(2000), MSS)).toBe(false);
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(6000);
      expect(rel(next())).toEqual({ start: 2000, end: 3000, rule: 3 }); // not lost yet: rule 3

      // Segment 7: SACK 6000-7000, 3000-5000. Now 3000 bytes above segment 3: lost.
      expect(sb.update(sndUna, sndNxt, [blk(6000, 7000), blk(3000, 5000)]).newlySacked).toBe(1000);
      expect(sb.isLost(at(2000), MSS)).toBe(true);
      expect(sb.isLost(at(2999), MSS)).toBe(true);
      expect(sb.isLost(at(5000), MSS)).toBe(false);
      expect(sb.sackedBytes).toBe(3000);
      expect(sb.highestSacked).toBe(at(7000));
      // pipe: hole 2000-3000 lost (0), hole 5000-6000 in flight (1000), 7000-10000 (3000).
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(4000);
      expect(rel(next())).toEqual({ start: 2000, end: 3000, rule: 1 });

      // Third duplicate ACK: recovery. The engine retransmits segment 3; HighRxt = 3000.
      highRxt = at(3000);
      // The retransmission counts in pipe (S1 < HighRxt) although segment 3 is lost.
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(5000);
      // Next: nothing lost above HighRxt; new data first if allowed (rule 2), else rule 3.
      expect(rel(next(3000))).toEqual({ start: 10000, end: 11000, rule: 2 });
      expect(rel(next(400))).toEqual({ start: 10000, end: 10400, rule: 2 });
      expect(rel(next())).toEqual({ start: 5000, end: 6000, rule: 3 });

      // Segment 8: SACK 6000-8000 (2000 bytes above segment 6: not lost). Segment 9: lost.
      sb.update(sndUna, sndNxt, [blk(6000, 8000), blk(3000, 5000)]);
      expect(sb.isLost(at(5000), MSS)).toBe(false);
      sb.update(sndUna, sndNxt, [blk(6000, 9000), blk(3000, 5000)]);
      expect(sb.isLost(at(5000), MSS)).toBe(true);
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(1000 /* rtx of 3 */ + 1000 /* 9000-10000 */);
      expect(rel(next())).toEqual({ start: 5000, end: 6000, rule: 1 });
      highRxt = at(6000);
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(3000);

      // Nothing left for rules 1-3: the rescue retransmission of the highest unSACKed segment.
      expect(rel(next())).toEqual({ start: 9000, end: 10000, rule: 4 });
      // Once per recovery: with RescueRxt = RecoveryPoint and HighACK below it, nothing.
      expect(next(0, sndNxt)).toBeUndefined();

      // Segment 10: SACK 6000-10000. The top is now SACKed; the highest unSACKed is 5000-6000.
      sb.update(sndUna, sndNxt, [blk(6000, 10000), blk(3000, 5000)]);
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(2000); // the two retransmissions
      expect(rel(next())).toEqual({ start: 5000, end: 6000, rule: 4 });

      // Retransmitted segment 3 arrives: partial ACK to 5000.
      sndUna = at(5000);
      sb.advance(sndUna);
      expect(sb.blocks()).toEqual([blk(6000, 10000)]);
      expect(sb.sackedBytes).toBe(4000);
      expect(sb.pipe(sndUna, sndNxt, highRxt, MSS)).toBe(1000); // the retransmitted segment 6
      // Retransmitted segment 6 arrives: full ACK.
      sndUna = at(10000);
      expect(sb.update(sndUna, sndNxt, [])).toEqual({ newlySacked: 0, dsack: false });
      expect(sb.sackedBytes).toBe(0);
      expect(sb.highestSacked).toBeUndefined();
      expect(sb.pipe(sndUna, sndNxt, sndUna, MSS)).toBe(0);
    });
  }
});

describe('SackScoreboard: details', () => {
  const una = seq(10_000);
  const nxt = seq(50_000);
  const b = (s: number, e: number): SackBlock => ({ start: seq(s), end: seq(e) });

  it('IsLost by count: DupThresh discontiguous SACKed ranges above, even if few bytes', () => {
    const sb = new SackScoreboard();
    sb.update(una, nxt, [b(11_000, 11_100), b(12_000, 12_100)]);
    expect(sb.isLost(una, MSS)).toBe(false);
    sb.update(una, nxt, [b(13_000, 13_100)]);
    expect(sb.isLost(una, MSS)).toBe(true);
    expect(sb.isLost(seq(11_500), MSS)).toBe(false); // only 2 ranges above
    expect(sb.isLost(una, MSS, 4)).toBe(false); // DupThresh is a parameter
    // Bytes strictly greater than SeqNum: a range starting right above counts fully.
    const one = new SackScoreboard();
    one.update(una, nxt, [b(10_001, 12_002)]);
    expect(one.isLost(una, MSS)).toBe(true); // 2001 > 2000
    expect(one.isLost(seq(10_001), MSS)).toBe(false); // 2000 bytes above 10_001
  });

  it('recognises D-SACK (RFC 2883): first block below the ACK or inside the second', () => {
    const sb = new SackScoreboard();
    expect(sb.update(una, nxt, [b(9_000, 10_000)])).toEqual({ newlySacked: 0, dsack: true });
    expect(sb.sackedBytes).toBe(0);
    sb.update(una, nxt, [b(20_000, 22_000)]);
    expect(sb.update(una, nxt, [b(20_500, 21_000), b(20_000, 22_000)])).toEqual({ newlySacked: 0, dsack: true });
    expect(sb.update(una, nxt, [b(20_000, 23_000), b(25_000, 26_000)])).toEqual({ newlySacked: 2000, dsack: false });
    // A D-SACK block with more blocks after it: the others are still recorded.
    expect(sb.update(una, nxt, [b(5_000, 6_000), b(30_000, 31_000)])).toEqual({ newlySacked: 1000, dsack: true });
    expect(sb.stats.dsacks).toBe(3);
  });

  it('ignores invalid blocks, clips below SND.UNA, counts only new bytes', () => {
    const sb = new SackScoreboard();
    expect(sb.update(una, nxt, [b(20_000, 20_000)]).newlySacked).toBe(0); // empty
    expect(sb.update(una, nxt, [b(21_000, 20_000)]).newlySacked).toBe(0); // inverted
    expect(sb.update(una, nxt, [b(49_000, 51_000)]).newlySacked).toBe(0); // above SND.NXT
    expect(sb.stats.invalidBlocks).toBe(3);
    expect(sb.update(una, nxt, [b(30_000, 31_000), b(9_500, 11_000)]).newlySacked).toBe(2000);
    expect(sb.blocks()).toEqual([b(10_000, 11_000), b(30_000, 31_000)]);
    expect(sb.update(una, nxt, [b(30_000, 31_000)]).newlySacked).toBe(0);
    expect(sb.update(una, nxt, [b(30_500, 32_000), b(11_000, 12_000)]).newlySacked).toBe(2000);
    expect(sb.blocks()).toEqual([b(10_000, 12_000), b(30_000, 32_000)]);
    expect(sb.isSacked(seq(30_000), seq(32_000))).toBe(true);
    expect(sb.isSacked(seq(29_999), seq(31_000))).toBe(false);
    expect(sb.isSacked(seq(11_000), seq(30_500))).toBe(false);
    expect(sb.isSacked(seq(40_000), seq(41_000))).toBe(false);
    // Merging across a gap.
    expect(sb.update(una, nxt, [b(12_000, 30_000)]).newlySacked).toBe(18_000);
    expect(sb.blocks()).toEqual([b(10_000, 32_000)]);
    expect(sb.sackedBytes).toBe(22_000);
  });

  it('advance() drops and clips; reset() clears (RTO, RFC 6675 5.1 / RFC 2018)', () => {
    const sb = new SackScoreboard();
    sb.update(una, nxt, [b(12_000, 13_000), b(14_000, 16_000)]);
    sb.advance(seq(15_000));
    expect(sb.blocks()).toEqual([b(15_000, 16_000)]);
    expect(sb.sackedBytes).toBe(1000);
    sb.reset();
    expect(sb.blocks()).toEqual([]);
    expect(sb.sackedBytes).toBe(0);
    expect(sb.nextSeg({ sndUna: una, sndNxt: nxt, highRxt: una, rescueRxt: undefined, recoveryPoint: nxt, mss: MSS, newDataLimit: nxt }))
      .toEqual({ start: seq(49_000), end: nxt, rule: 4 });
  });

  it(`bounds the list at ${MAX_SACK_RANGES} ranges`, () => {
    const sb = new SackScoreboard();
    for (let k = 0; k < MAX_SACK_RANGES; k++) sb.update(una, nxt, [b(11_000 + 200 * k, 11_100 + 200 * k)]);
    expect(sb.blocks().length).toBe(MAX_SACK_RANGES);
    expect(sb.update(una, nxt, [b(40_000, 41_000)]).newlySacked).toBe(0);
    expect(sb.stats.rangesFull).toBe(1);
    // Extending an existing range still works.
    expect(sb.update(una, nxt, [b(11_100, 11_150)]).newlySacked).toBe(50);
  });

  it('rule 1 segments stop at the next SACKed range and at SMSS', () => {
    const sb = new SackScoreboard();
    sb.update(una, nxt, [b(10_500, 11_000), b(13_000, 20_000)]);
    const st = { sndUna: una, sndNxt: nxt, highRxt: una, rescueRxt: undefined, recoveryPoint: nxt, mss: MSS, newDataLimit: nxt };
    expect(sb.nextSeg(st)).toEqual({ start: una, end: seq(10_500), rule: 1 });
    expect(sb.nextSeg({ ...st, highRxt: seq(10_500) })).toEqual({ start: seq(11_000), end: seq(12_000), rule: 1 });
    expect(sb.nextSeg({ ...st, highRxt: seq(12_000) })).toEqual({ start: seq(12_000), end: seq(13_000), rule: 1 });
    // Above the highest SACK nothing is rule 1 or 3: rescue of [49_000, 50_000).
    expect(sb.nextSeg({ ...st, highRxt: seq(20_000) })).toEqual({ start: seq(49_000), end: nxt, rule: 4 });
    // HighACK above RescueRxt allows another rescue.
    expect(sb.nextSeg({ ...st, highRxt: seq(20_000), rescueRxt: seq(9_000) })?.rule).toBe(4);
    expect(sb.nextSeg({ ...st, highRxt: seq(20_000), rescueRxt: seq(10_000) })).toBeUndefined();
  });
});

describe('SackScoreboard: SetPipe against a per-segment reference (seeded)', () => {
  /** RFC 6675 SetPipe, literally: cut every hole into SMSS segments; IsLost by scanning all SACKed bytes. */
  function referencePipe(sacked: boolean[], una: number, nxt: number, highRxt: number, mss: number): number {
    const isLost = (x: number): boolean => {
      let bytes = 0;
      let ranges = 0;
      for (let i = x + 1; i < nxt; i++) {
        if (sacked[i]) {
          bytes++;
          if (!sacked[i - 1] || i === x + 1) ranges++;
        }
      }
      return ranges >= 3 || bytes > 2 * mss;
    };
    let pipe = 0;
    let i = una;
    while (i < nxt) {
      if (sacked[i]) {
        i++;
        continue;
      }
      let holeEnd = i;
      while (holeEnd < nxt && !sacked[holeEnd]) holeEnd++;
      for (let s1 = i; s1 < holeEnd; s1 += mss) {
        const len = Math.min(mss, holeEnd - s1);
        if (!isLost(s1)) pipe += len;
        if (s1 < highRxt) pipe += len;
      }
      i = holeEnd;
    }
    return pipe;
  }

  for (const seed of [11, 12, 13, 14]) {
    it(`seed ${seed}`, () => {
      const rng = new SeededRng(seed);
      const mss = 10;
      for (let trial = 0; trial < 150; trial++) {
        const base = trial % 2 === 0 ? 0xffffff00 : rng.nextU32();
        const nxt = rng.nextInt(50, 400);
        const una = rng.nextInt(0, 40);
        const sacked: boolean[] = new Array(nxt + 1).fill(false);
        const sb = new SackScoreboard();
        const at = (x: number): Seq => seq(base + x);
        const nBlocks = rng.nextInt(0, 8);
        for (let k = 0; k < nBlocks; k++) {
          const s = rng.nextInt(una + 1, nxt);
          const e = Math.min(nxt, s + rng.nextInt(1, 40));
          sb.update(at(una), at(nxt), [{ start: at(s), end: at(e) }, { start: at(e + 5), end: at(e + 1) }]);
          for (let x = s; x < e; x++) sacked[x] = true;
        }
        const highRxt = rng.nextInt(una, nxt);
        expect(sb.sackedBytes).toBe(sacked.filter(Boolean).length);
        expect(sb.pipe(at(una), at(nxt), at(highRxt), mss)).toBe(referencePipe(sacked, una, nxt, highRxt, mss));
      }
    });
  }
});
