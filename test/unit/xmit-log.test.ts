/**
 * TransmitLog (src/tcp/recovery/xmit-log.ts), RACK's per-transmission record of what is in
 * flight (RFC 8985 6.1): transmissions and retransmissions, SACK marking with splitting and
 * merging, cumulative ACKs, loss marks and their byte totals, storage compaction and growth,
 * and the 2^32 wrap — then a seeded randomized run against a per-octet reference model.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { seq, seqAdd, seqDiff, type Seq } from '../../src/core/seq.js';
import { F_LOST, F_RTX, F_SACKED, RETAIN_RECORDS, STRIDE, TransmitLog } from '../../src/tcp/recovery/xmit-log.js';

type Rec = [start: number, end: number, ts: number, flags: number];
type Delivery = [start: number, end: number, ts: number, flags: number];

/** The live records, with sequence numbers relative to `base`. */
function recs(log: TransmitLog, base: number): Rec[] {
  const out: Rec[] = [];
  for (let i = log.head; i < log.tail; i++) {
    out.push([seqDiff(log.start(i), seq(base)), seqDiff(log.end(i), seq(base)), log.ts(i), log.flags(i)]);
  }
  return out;
}

/** A log at `base` with helpers taking offsets from it. */
function fixture(base = 1000) {
  const log = new TransmitLog();
  const at = (off: number): Seq => seqAdd(seq(base), off);
  const got: Delivery[] = [];
  const onDelivered = (s: Seq, e: Seq, ts: number, flags: number): void => {
    got.push([seqDiff(s, seq(base)), seqDiff(e, seq(base)), ts, flags]);
  };
  return {
    log,
    at,
    got,
    tx: (s: number, e: number, ts: number, rtx = false) => log.transmit(at(s), at(e), ts, rtx),
    sack: (s: number, e: number) => log.sack(at(s), at(e), onDelivered),
    ack: (una: number) => log.ackTo(at(una), onDelivered),
    recs: () => recs(log, base),
    take: () => got.splice(0),
  };
}

/** Index (absolute slot) of the record containing offset `off`. */
function slotOf(log: TransmitLog, base: number, off: number): number {
  for (let i = log.head; i < log.tail; i++) {
    const s = seqDiff(log.start(i), seq(base));
    const e = seqDiff(log.end(i), seq(base));
    if (s <= off && off < e) return i;
  }
  throw new Error(`no record holds offset ${off}`);
}

const BASES = [1000, 0xffffffff - 1499]; // plain, and one where 2^32 falls inside the flight

describe('TransmitLog: transmissions', () => {
  for (const base of BASES) {
    describe(`base ${base.toString(16)}`, () => {
      it('new data is appended, one record per transmission, tiling [una, max)', () => {
        const f = fixture(base);
        expect(f.log.count).toBe(0);
        f.tx(0, 1000, 10);
        f.tx(1000, 3000, 11);
        f.tx(3000, 3001, 12); // a FIN
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 3000, 11, 0],
          [3000, 3001, 12, 0],
        ]);
        expect(f.log.sackedBytes).toBe(0);
        expect(f.log.lostBytes).toBe(0);
      });

      it('a retransmission of a whole record replaces it with the new time and F_RTX', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.tx(1000, 2000, 10);
        f.tx(2000, 3000, 10);
        f.tx(1000, 2000, 50, true);
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 2000, 50, F_RTX],
          [2000, 3000, 10, 0],
        ]);
      });

      it('a retransmission inside one record splits it at both edges', () => {
        const f = fixture(base);
        f.tx(0, 4000, 10); // a TSO super-segment
        f.tx(1000, 2000, 50, true);
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 2000, 50, F_RTX],
          [2000, 4000, 10, 0],
        ]);
        // At the start of a record: only the tail piece is split off.
        f.tx(0, 500, 60, true);
        expect(f.recs()[0]).toEqual([0, 500, 60, F_RTX]);
        expect(f.recs()[1]).toEqual([500, 1000, 10, 0]);
        // At the end of the log.
        f.tx(3500, 4000, 70, true);
        expect(f.recs().slice(-2)).toEqual([
          [2000, 3500, 10, 0],
          [3500, 4000, 70, F_RTX],
        ]);
      });

      it('a retransmission over several records splits the outer two and replaces them all by one', () => {
        const f = fixture(base);
        for (let k = 0; k < 5; k++) f.tx(k * 1000, (k + 1) * 1000, 10 + k);
        f.tx(1500, 3500, 90, true);
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 1500, 11, 0],
          [1500, 3500, 90, F_RTX],
          [3500, 4000, 13, 0],
          [4000, 5000, 14, 0],
        ]);
        // Exactly on record edges: no split, records replaced.
        f.tx(1000, 4000, 95, true);
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 4000, 95, F_RTX],
          [4000, 5000, 14, 0],
        ]);
      });

      it('new data sent at the same time as the record it continues extends that record', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.tx(1000, 2000, 10); // same burst: one record
        f.tx(2000, 3000, 11); // later: a new record
        f.tx(3000, 3500, 11, true); // a retransmission never merges (past SND.MAX: new octets)
        f.tx(3500, 4000, 11); // nor does data after it
        f.log.markLost(slotOf(f.log, base, 2000));
        f.tx(5000, 6000, 11); // not contiguous
        expect(f.recs()).toEqual([
          [0, 2000, 10, 0],
          [2000, 3000, 11, F_LOST],
          [3000, 3500, 11, F_RTX],
          [3500, 4000, 11, 0],
          [5000, 6000, 11, 0],
        ]);
        f.tx(6000, 7000, 11); // extends the last one
        expect(f.recs().at(-1)).toEqual([5000, 7000, 11, 0]);
      });

      it('a retransmission reaching past SND.MAX becomes one record covering the new octets too', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.tx(1000, 2000, 11);
        f.tx(1500, 3000, 40, true);
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 1500, 11, 0],
          [1500, 3000, 40, F_RTX],
        ]);
      });

      it('a retransmission clears the loss and SACK marks of what it covers (and their totals)', () => {
        const f = fixture(base);
        for (let k = 0; k < 4; k++) f.tx(k * 1000, (k + 1) * 1000, 10 + k);
        f.sack(3000, 4000);
        f.log.markLost(slotOf(f.log, base, 0));
        f.log.markLost(slotOf(f.log, base, 1000));
        expect(f.log.lostBytes).toBe(2000);
        expect(f.log.sackedBytes).toBe(1000);
        f.tx(500, 1500, 30, true);
        expect(f.log.lostBytes).toBe(1000);
        expect(f.recs()).toEqual([
          [0, 500, 10, F_LOST],
          [500, 1500, 30, F_RTX],
          [1500, 2000, 11, F_LOST],
          [2000, 3000, 12, 0],
          [3000, 4000, 13, F_SACKED],
        ]);
        f.tx(2500, 4000, 40, true); // over the SACKed record (after a reneging, say)
        expect(f.log.sackedBytes).toBe(0);
        expect(f.log.lostBytes).toBe(1000);
      });
    });
  }
});

describe('TransmitLog: SACK blocks', () => {
  for (const base of BASES) {
    describe(`base ${base.toString(16)}`, () => {
      it('a block inside a record splits it and reports exactly the SACKed part', () => {
        const f = fixture(base);
        f.tx(0, 3000, 10, false);
        expect(f.sack(1000, 2000)).toBe(1000);
        expect(f.take()).toEqual([[1000, 2000, 10, 0]]);
        expect(f.recs()).toEqual([
          [0, 1000, 10, 0],
          [1000, 2000, 10, F_SACKED],
          [2000, 3000, 10, 0],
        ]);
        expect(f.log.sackedBytes).toBe(1000);
        // The same block again: nothing new.
        expect(f.sack(1000, 2000)).toBe(0);
        expect(f.take()).toEqual([]);
        expect(f.log.count).toBe(3);
      });

      it('blocks over several records report each newly SACKed part with its own time and flags', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.tx(1000, 2000, 11);
        f.tx(2000, 3000, 12);
        f.tx(1000, 2000, 20, true);
        expect(f.sack(500, 2500)).toBe(2000);
        expect(f.take()).toEqual([
          [500, 1000, 10, 0],
          [1000, 2000, 20, F_RTX],
          [2000, 2500, 12, 0],
        ]);
        // One SACKed record for the run.
        expect(f.recs().map(([s, e, , fl]) => [s, e, fl & F_SACKED])).toEqual([
          [0, 500, 0],
          [500, 2500, F_SACKED],
          [2500, 3000, 0],
        ]);
      });

      it('adjacent SACKed runs merge into one record', () => {
        const f = fixture(base);
        for (let k = 0; k < 6; k++) f.tx(k * 1000, (k + 1) * 1000, 10 + k);
        f.sack(1000, 2000);
        f.sack(3000, 4000);
        expect(f.log.count).toBe(6);
        expect(f.sack(2000, 3000)).toBe(1000);
        expect(f.recs().map(([s, e, , fl]) => [s, e, fl & F_SACKED])).toEqual([
          [0, 1000, 0],
          [1000, 4000, F_SACKED],
          [4000, 5000, 0],
          [5000, 6000, 0],
        ]);
        // A block overlapping a SACKed run and new octets on both sides.
        expect(f.sack(500, 4500)).toBe(1000);
        expect(f.take().slice(-2)).toEqual([
          [500, 1000, 10, 0],
          [4000, 4500, 14, 0],
        ]);
        expect(f.recs().map(([s, e, , fl]) => [s, e, fl & F_SACKED])).toEqual([
          [0, 500, 0],
          [500, 4500, F_SACKED],
          [4500, 5000, 0],
          [5000, 6000, 0],
        ]);
        expect(f.log.sackedBytes).toBe(4000);
      });

      it('a SACK of a lost record takes it out of lostBytes; SACKed records cannot be marked lost', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.tx(1000, 2000, 11);
        f.log.markLost(slotOf(f.log, base, 0));
        expect(f.log.lostBytes).toBe(1000);
        f.sack(250, 750);
        expect(f.take()).toEqual([[250, 750, 10, F_LOST]]);
        expect(f.log.lostBytes).toBe(500);
        expect(f.log.sackedBytes).toBe(500);
        const sacked = slotOf(f.log, base, 250);
        f.log.markLost(sacked);
        expect(f.log.lostBytes).toBe(500);
        expect(f.log.flags(sacked)).toBe(F_SACKED);
      });

      it('an empty block or one beyond the log changes nothing', () => {
        const f = fixture(base);
        expect(f.sack(0, 1000)).toBe(0); // empty log
        f.tx(0, 1000, 10);
        expect(f.sack(500, 500)).toBe(0);
        expect(f.sack(1000, 2000)).toBe(0);
        expect(f.take()).toEqual([]);
        expect(f.recs()).toEqual([[0, 1000, 10, 0]]);
      });
    });
  }
});

describe('TransmitLog: cumulative ACKs and marks', () => {
  for (const base of BASES) {
    describe(`base ${base.toString(16)}`, () => {
      it('ackTo removes whole records, trims a partly acknowledged one, and skips SACKed octets', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.tx(1000, 2000, 11);
        f.tx(2000, 3000, 12);
        f.sack(1500, 2000);
        f.take();
        f.ack(500);
        expect(f.take()).toEqual([[0, 500, 10, 0]]);
        expect(f.recs()[0]).toEqual([500, 1000, 10, 0]);
        f.ack(2500);
        expect(f.take()).toEqual([
          [500, 1000, 10, 0],
          [1000, 1500, 11, 0],
          [2000, 2500, 12, 0],
        ]);
        expect(f.log.sackedBytes).toBe(0);
        expect(f.recs()).toEqual([[2500, 3000, 12, 0]]);
        // An ACK of what is already acknowledged does nothing.
        f.ack(2500);
        f.ack(2000);
        expect(f.take()).toEqual([]);
        f.ack(3000);
        expect(f.take()).toEqual([[2500, 3000, 12, 0]]);
        expect(f.log.count).toBe(0);
        expect(f.log.head).toBe(0);
        expect(f.log.tail).toBe(0);
      });

      it('ackTo inside a SACKed record subtracts only the acknowledged part', () => {
        const f = fixture(base);
        f.tx(0, 4000, 10);
        f.sack(1000, 3000);
        f.take();
        f.log.markLost(slotOf(f.log, base, 0));
        f.ack(2000);
        expect(f.take()).toEqual([[0, 1000, 10, F_LOST]]);
        expect(f.log.sackedBytes).toBe(1000);
        expect(f.log.lostBytes).toBe(0);
        expect(f.recs()[0]).toEqual([2000, 3000, 10, F_SACKED]);
      });

      it('markLost, firstLost and lostBytes; resetMarks forgets SACK and loss marks but not F_RTX', () => {
        const f = fixture(base);
        for (let k = 0; k < 5; k++) f.tx(k * 1000, (k + 1) * 1000, 10 + k);
        f.tx(2000, 3000, 30, true);
        expect(f.log.firstLost()).toBe(-1);
        f.log.markLost(slotOf(f.log, base, 3000));
        f.log.markLost(slotOf(f.log, base, 3000)); // twice: counted once
        expect(f.log.lostBytes).toBe(1000);
        expect(f.log.firstLost()).toBe(slotOf(f.log, base, 3000));
        f.log.markLost(slotOf(f.log, base, 2000));
        expect(f.log.firstLost()).toBe(slotOf(f.log, base, 2000));
        // From a sequence number: the lowest lost record ending after it.
        expect(f.log.firstLost(f.at(2500))).toBe(slotOf(f.log, base, 2000));
        expect(f.log.firstLost(f.at(3000))).toBe(slotOf(f.log, base, 3000));
        expect(f.log.firstLost(f.at(4000))).toBe(-1);
        expect(f.log.flags(slotOf(f.log, base, 2000))).toBe(F_RTX | F_LOST);
        f.sack(4000, 5000);
        expect(f.log.lostBytes).toBe(2000);
        expect(f.log.sackedBytes).toBe(1000);
        f.log.resetMarks();
        expect(f.log.lostBytes).toBe(0);
        expect(f.log.sackedBytes).toBe(0);
        expect(f.log.firstLost()).toBe(-1);
        expect(f.recs().map((r) => r[3])).toEqual([0, 0, F_RTX, 0, 0]);
        // Retransmitting the lowest lost record moves firstLost on.
        f.log.markLost(slotOf(f.log, base, 0));
        f.log.markLost(slotOf(f.log, base, 1000));
        f.tx(0, 1000, 40, true);
        expect(f.log.firstLost()).toBe(slotOf(f.log, base, 1000));
        f.tx(1000, 2000, 41, true);
        expect(f.log.firstLost()).toBe(-1);
        expect(f.log.lostBytes).toBe(0);
      });

      it('clear() forgets everything', () => {
        const f = fixture(base);
        f.tx(0, 1000, 10);
        f.sack(0, 500);
        f.log.clear();
        expect(f.log.count).toBe(0);
        expect(f.log.sackedBytes).toBe(0);
        f.tx(1000, 2000, 20);
        expect(f.recs()).toEqual([[1000, 2000, 20, 0]]);
      });
    });
  }
});

describe('TransmitLog: storage', () => {
  it('takes no array before the first transmission, then 4 records', () => {
    const log = new TransmitLog();
    expect(log.r.length).toBe(0);
    expect(log.r).toBe(new TransmitLog().r); // one shared empty array
    log.transmit(seq(0), seq(100), 0, false);
    expect(log.r.length).toBe(4 * STRIDE);
  });

  it('compacts to slot 0 when the head has moved, instead of growing', () => {
    const f = fixture(0);
    // An operation reserves room for 3 records (two edge splits and the new one).
    for (let k = 0; k < 14; k++) f.tx(k * 100, (k + 1) * 100, k);
    expect(f.log.r.length).toBe(16 * STRIDE);
    f.ack(1200); // 12 records gone: head = 12
    expect(f.log.head).toBe(12);
    f.tx(1400, 1500, 14);
    expect(f.log.r.length).toBe(16 * STRIDE);
    expect(f.log.head).toBe(0);
    expect(f.recs().map((r) => r[0])).toEqual([1200, 1300, 1400]);
    // Full of live records: it doubles.
    for (let k = 15; k < 30; k++) f.tx(k * 100, (k + 1) * 100, k);
    expect(f.log.r.length).toBe(32 * STRIDE);
    expect(f.log.count).toBe(18);
    expect(f.recs().map((r) => r[0])).toEqual(Array.from({ length: 18 }, (_, i) => 1200 + i * 100));
  });

  it('an emptied log gives a large array back, and keeps a small one', () => {
    const f = fixture(0);
    for (let k = 0; k < 100; k++) f.tx(k * 100, (k + 1) * 100, k);
    f.ack(10000);
    expect(f.log.count).toBe(0);
    expect(f.log.r.length).toBe(128 * STRIDE); // small: kept for the next flight
    for (let k = 100; k < 100 + 2 * RETAIN_RECORDS; k++) f.tx(k * 100, (k + 1) * 100, k);
    expect(f.log.r.length).toBeGreaterThan(RETAIN_RECORDS * STRIDE);
    f.ack((100 + RETAIN_RECORDS) * 100); // not all: kept
    expect(f.log.r.length).toBeGreaterThan(RETAIN_RECORDS * STRIDE);
    f.ack((100 + 2 * RETAIN_RECORDS) * 100);
    expect(f.log.count).toBe(0);
    expect(f.log.r.length).toBe(0);
    f.tx((100 + 2 * RETAIN_RECORDS) * 100, (101 + 2 * RETAIN_RECORDS) * 100, 1);
    expect(f.log.r.length).toBe(4 * STRIDE);
    expect(f.log.count).toBe(1);
  });

  it('an empty transmission adds no record', () => {
    const f = fixture(0);
    f.tx(0, 0, 1);
    expect(f.log.count).toBe(0);
    f.tx(0, 1000, 1);
    f.tx(500, 500, 2, true);
    expect(f.recs()).toEqual([[0, 1000, 1, 0]]);
  });

  it('a peer SACKing every other octet cannot make a record per octet', () => {
    const f = fixture(0xffffffff - 30000);
    f.tx(0, 65536, 1); // one TSO super-segment
    f.tx(65536, 65537, 2); // and a FIN
    let newly = 0;
    for (let o = 1; o < 65536; o += 2) newly += f.sack(o, o + 1);
    // At most 64 + flight / 64 records; what could not be split stays unSACKed.
    expect(f.log.count).toBeLessThanOrEqual(64 + Math.ceil(65537 / 64) + 2);
    expect(newly).toBeGreaterThan(0);
    const r = f.recs();
    let sacked = 0;
    for (let k = 0; k < r.length; k++) {
      const [s, e, , fl] = r[k]!;
      if (k > 0) expect(s).toBe(r[k - 1]![1]);
      if (fl & F_SACKED) sacked += e - s;
    }
    expect(r[0]![0]).toBe(0);
    expect(r[r.length - 1]![1]).toBe(65537);
    expect(f.log.sackedBytes).toBe(sacked);
    expect(sacked).toBe(newly);
    const delivered = f.take().reduce((n, [s, e]) => n + e - s, 0);
    expect(delivered).toBe(newly);
    // Whole records are still marked whatever the count, and ACKs clear it all.
    expect(f.sack(65536, 65537)).toBe(1);
    f.ack(65537);
    expect(f.log.count).toBe(0);
    expect(f.log.sackedBytes).toBe(0);
  });

  it('doubles when full, keeping every record in order, also across the 2^32 wrap', () => {
    const base = 0xffffffff - 5000;
    const f = fixture(base);
    for (let k = 0; k < 100; k++) f.tx(k * 100, (k + 1) * 100, k);
    expect(f.log.r.length).toBe(128 * STRIDE);
    const r = f.recs();
    expect(r).toHaveLength(100);
    r.forEach(([s, e, ts], k) => expect([s, e, ts]).toEqual([k * 100, (k + 1) * 100, k]));
    // Splits in a full array: every split grows it when needed (no record limit here: 300
    // records for 10000 octets is past the anti-fragmentation limit of splitBytes).
    f.log.splitBytes = 0;
    for (let k = 0; k < 100; k++) f.sack(k * 100 + 10, k * 100 + 20);
    expect(f.log.count).toBe(300);
    expect(f.log.sackedBytes).toBe(1000);
    f.ack(10000);
    expect(f.log.count).toBe(0);
    expect(f.log.sackedBytes).toBe(0);
  });
});

// ---------------------------------------------------------------- randomized, against a model

/**
 * The reference: one entry per octet of a small stretch of sequence space (offsets from
 * `base`, which starts 5000 below 2^32 so that the wrap is crossed early). For each octet:
 * its last transmission time and whether that was a retransmission (unknown — NaN / -1 —
 * once it was SACKed: the log merges SACKed runs and keeps one time for them), SACKed, lost.
 */
class Model {
  readonly ts: Float64Array;
  readonly rtx: Int8Array;
  readonly sacked: Uint8Array;
  readonly lost: Uint8Array;
  una = 0;
  max = 0;

  constructor(size: number) {
    this.ts = new Float64Array(size);
    this.rtx = new Int8Array(size);
    this.sacked = new Uint8Array(size);
    this.lost = new Uint8Array(size);
  }

  transmit(s: number, e: number, t: number, rtx: boolean): void {
    for (let o = s; o < e; o++) {
      this.ts[o] = t;
      this.rtx[o] = rtx ? 1 : 0;
      this.sacked[o] = 0;
      this.lost[o] = 0;
    }
    if (e > this.max) this.max = e;
  }
}

describe('TransmitLog: seeded random operations against a per-octet model', () => {
  const seeds = process.env.XMIT_LOG_SEED !== undefined ? [Number(process.env.XMIT_LOG_SEED)] : [1, 2, 3, 4, 5, 6, 7, 8];
  for (const seed of seeds) {
    it(`seed ${seed} (replay: XMIT_LOG_SEED=${seed})`, () => {
      const rng = new SeededRng(seed);
      const base = 0xffffffff - 5000 + 1; // 2^32 - 5000
      const STEPS = 1500;
      const WINDOW = 6000;
      const m = new Model(1 << 21);
      const log = new TransmitLog();
      log.splitBytes = 0; // the model splits wherever a block says (the limit has its own test)
      const at = (o: number): Seq => seqAdd(seq(base), o);
      const off = (s: Seq): number => {
        const d = seqDiff(s, seq(base));
        // Offsets grow past 2^31 never (the run is far shorter); a negative one is a bug.
        return d;
      };
      let now = 0;
      let delivered: number[] = [];
      const onDelivered = (s: Seq, e: Seq, t: number, flags: number): void => {
        const so = off(s);
        const eo = off(e);
        expect(so, 'delivered range is empty or reversed').toBeLessThan(eo);
        if (flags & F_SACKED) throw new Error(`delivered [${so}, ${eo}) was SACKed before`);
        for (let o = so; o < eo; o++) {
          delivered.push(o);
          if (!Number.isNaN(m.ts[o]!) && t !== m.ts[o]) throw new Error(`delivered octet ${o}: ts ${t}, sent at ${m.ts[o]}`);
          if (m.rtx[o]! >= 0 && (flags & F_RTX) !== (m.rtx[o]! ? F_RTX : 0)) throw new Error(`delivered octet ${o}: flags ${flags}, rtx=${m.rtx[o]}`);
          if ((flags & F_LOST) !== (m.lost[o]! ? F_LOST : 0)) throw new Error(`delivered octet ${o}: flags ${flags}, lost=${m.lost[o]}`);
        }
      };
      const expectDelivered = (want: number[], what: string): void => {
        delivered.sort((a, b) => a - b);
        if (delivered.length !== want.length) throw new Error(`${what}: ${delivered.length} octets reported, ${want.length} newly delivered`);
        for (let i = 0; i < want.length; i++) {
          if (delivered[i] !== want[i]) throw new Error(`${what}: octet #${i} reported ${delivered[i]}, expected ${want[i]}`);
        }
        delivered = [];
      };
      const rand = (lo: number, hi: number): number => rng.nextInt(lo, hi);

      const check = (step: number, op: string): void => {
        const ctx = `seed ${seed} step ${step} (${op})`;
        // Records tile [una, max) in order, none empty, none out of range.
        let expectStart = m.una;
        let sacked = 0;
        let lost = 0;
        let prevSacked = false;
        for (let i = log.head; i < log.tail; i++) {
          const s = off(log.start(i));
          const e = off(log.end(i));
          const f = log.flags(i);
          const t = log.ts(i);
          if (s !== expectStart || !(s < e)) {
            throw new Error(`${ctx}: record ${i - log.head} is [${s}, ${e}), expected to start at ${expectStart}: ${JSON.stringify(recs(log, base))}`);
          }
          expectStart = e;
          const isSacked = (f & F_SACKED) !== 0;
          if (isSacked && prevSacked) throw new Error(`${ctx}: adjacent SACKed records at ${s} were not merged`);
          prevSacked = isSacked;
          if (isSacked && f & F_LOST) throw new Error(`${ctx}: record at ${s} is SACKed and lost`);
          for (let o = s; o < e; o++) {
            if ((m.sacked[o] === 1) !== isSacked) throw new Error(`${ctx}: octet ${o} SACKed=${m.sacked[o]} but record [${s}, ${e}) flags ${f}`);
            if ((m.lost[o] === 1) !== ((f & F_LOST) !== 0)) throw new Error(`${ctx}: octet ${o} lost=${m.lost[o]} but record [${s}, ${e}) flags ${f}`);
            if (!isSacked) {
              if (!Number.isNaN(m.ts[o]!) && m.ts[o] !== t) throw new Error(`${ctx}: octet ${o} sent at ${m.ts[o]} but record [${s}, ${e}) says ${t}`);
              if (m.rtx[o]! >= 0 && (m.rtx[o] === 1) !== ((f & F_RTX) !== 0)) throw new Error(`${ctx}: octet ${o} rtx=${m.rtx[o]} but record [${s}, ${e}) flags ${f}`);
            }
            if (m.sacked[o]) sacked++;
            else if (m.lost[o]) lost++;
          }
        }
        if (log.count > 0 && expectStart !== m.max) throw new Error(`${ctx}: records end at ${expectStart}, SND.MAX is ${m.max}`);
        if (log.count === 0 && m.una !== m.max) throw new Error(`${ctx}: empty log with [${m.una}, ${m.max}) in flight`);
        if (log.sackedBytes !== sacked) throw new Error(`${ctx}: sackedBytes ${log.sackedBytes}, model ${sacked}`);
        if (log.lostBytes !== lost) throw new Error(`${ctx}: lostBytes ${log.lostBytes}, model ${lost}`);
        // firstLost agrees with the model.
        let first = -1;
        for (let o = m.una; o < m.max; o++) {
          if (m.lost[o]) {
            first = o;
            break;
          }
        }
        const fl = log.firstLost();
        const flOff = fl < 0 ? -1 : off(log.start(fl));
        if (flOff !== first) throw new Error(`${ctx}: firstLost at ${flOff}, model ${first}`);
      };

      let maxCount = 0;
      for (let step = 0; step < STEPS && m.max + 8000 < m.ts.length; step++) {
        now += rand(0, 3);
        const inFlight = m.max - m.una;
        const r = rand(0, 100);
        let op: string;
        if (inFlight === 0 || (r < 30 && inFlight < WINDOW)) {
          // New data (a segment or a TSO super-segment; sometimes a 1-octet FIN-like record).
          const len = rng.nextFloat() < 0.1 ? 1 : rand(1, rng.nextFloat() < 0.2 ? 4000 : 1500);
          op = `transmit [${m.max}, ${m.max + len})`;
          log.transmit(at(m.max), at(m.max + len), now, false);
          m.transmit(m.max, m.max + len, now, false);
        } else if (r < 50) {
          // A retransmission somewhere in flight, sometimes reaching past SND.MAX.
          const s = rand(m.una, m.max);
          const e = rng.nextFloat() < 0.15 ? m.max + rand(1, 1000) : rand(s + 1, Math.min(m.max, s + 3000) + 1);
          op = `retransmit [${s}, ${e})`;
          log.transmit(at(s), at(e), now, true);
          m.transmit(s, e, now, true);
        } else if (r < 75) {
          // A SACK block (validated by the caller: within [una, max)).
          const s = rand(m.una, m.max);
          const e = rand(s + 1, Math.min(m.max, s + 4000) + 1);
          op = `sack [${s}, ${e})`;
          const want: number[] = [];
          for (let o = s; o < e; o++) if (!m.sacked[o]) want.push(o);
          const newly = log.sack(at(s), at(e), onDelivered);
          expectDelivered(want, op);
          if (newly !== want.length) throw new Error(`${op}: returned ${newly}, ${want.length} newly SACKed`);
          for (let o = s; o < e; o++) {
            m.sacked[o] = 1;
            m.lost[o] = 0;
            m.ts[o] = NaN;
            m.rtx[o] = -1;
          }
        } else if (r < 88) {
          // A cumulative ACK (sometimes a duplicate one).
          const una = rng.nextFloat() < 0.1 ? m.una : rand(m.una + 1, m.max + 1);
          op = `ackTo ${una}`;
          const want: number[] = [];
          for (let o = m.una; o < una; o++) if (!m.sacked[o]) want.push(o);
          log.ackTo(at(una), onDelivered);
          expectDelivered(want, op);
          m.una = una;
        } else if (r < 98) {
          // RACK marks a random record lost.
          const i = rand(log.head, log.tail);
          const s = off(log.start(i));
          const e = off(log.end(i));
          op = `markLost [${s}, ${e})`;
          log.markLost(i);
          if (!m.sacked[s]) for (let o = s; o < e; o++) m.lost[o] = 1;
        } else {
          op = 'resetMarks';
          log.resetMarks();
          for (let o = m.una; o < m.max; o++) {
            m.sacked[o] = 0;
            m.lost[o] = 0;
          }
        }
        if (delivered.length > 0) throw new Error(`${op}: unexpected deliveries`);
        check(step, op);
        maxCount = Math.max(maxCount, log.count);
      }
      // The run went across 2^32 and exercised growth.
      expect(m.max).toBeGreaterThan(5000);
      expect(maxCount).toBeGreaterThan(16);
    });
  }
});
