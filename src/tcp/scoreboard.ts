/**
 * The sender's SACK scoreboard and the algorithms of RFC 6675 ("A Conservative Loss Recovery
 * Algorithm Based on Selective Acknowledgment (SACK) for TCP"), section 4: Update(),
 * IsLost(), SetPipe() and NextSeg(). The recovery procedure that calls them (section 5)
 * lives in the TCP engine.
 *
 * Representation: the SACKed sequence space above SND.UNA as a sorted list of disjoint,
 * non-adjacent ranges [start, end) in typed arrays (allocated at the first SACK, grown by doubling), at most MAX_SACK_RANGES of
 * them (a receiver reports at most 4 blocks per ACK, and its own assembler is bounded too;
 * a block that would need a 65th range is ignored and counted in `stats.rangesFull`, which
 * only makes the sender more conservative). Every query is O(ranges) — independent of how
 * many segments are in flight.
 *
 * Conventions (the RFC leaves them open; the engine must use the same):
 * - `highRxt` is one past the highest retransmitted octet ("HighRxt" as an exclusive edge).
 *   At the start of recovery the engine sets it to SND.UNA ("HighRxt = HighACK"). The RFC's
 *   "S1 <= HighRxt" (retransmitted) becomes `S1 < highRxt`, and rule (1.a) "S2 > HighRxt"
 *   becomes `S2 >= highRxt`.
 * - `highestSacked` is the end (exclusive) of the highest SACKed range.
 * - DupThresh defaults to 3 (RFC 6675 section 2).
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, type Seq } from '../core/seq.js';
import type { SackBlock } from './recv-buffer.js';

export type { SackBlock } from './recv-buffer.js';

/** SACKed ranges the scoreboard tracks at most. */
export const MAX_SACK_RANGES = 64;
/** RFC 6675 section 2: "DupThresh ... is 3". */
export const DUP_THRESH = 3;

export interface NextSegState {
  sndUna: Seq;
  sndNxt: Seq;
  /** One past the highest retransmitted octet (see the module comment). */
  highRxt: Seq;
  rescueRxt: Seq | undefined;
  recoveryPoint: Seq;
  mss: number;
  /** First sequence number we may NOT send as new data: min(end of queued data, SND.UNA + SND.WND). */
  newDataLimit: Seq;
}

export interface NextSegResult {
  start: Seq;
  end: Seq;
  /** RFC 6675 NextSeg() rule: 1 lost, 2 new data, 3 unSACKed below the highest SACK, 4 rescue. */
  rule: 1 | 2 | 3 | 4;
}

export interface ScoreboardStats {
  /** A block needed a new range while MAX_SACK_RANGES were in use (ignored). */
  rangesFull: number;
  /** Blocks ignored because they were empty, inverted or reached above SND.NXT. */
  invalidBlocks: number;
  /** D-SACK blocks seen (RFC 2883). */
  dsacks: number;
}

/** Shared empty storage: a scoreboard allocates its range arrays only when a SACK arrives. */
const NO_RANGES = new Uint32Array(0);
/** First allocation, then doubled up to MAX_SACK_RANGES. */
const INITIAL_RANGES = 4;

export class SackScoreboard {
  private starts = NO_RANGES;
  private ends = NO_RANGES;
  private n = 0;
  private _sacked = 0;
  readonly stats: ScoreboardStats = { rangesFull: 0, invalidBlocks: 0, dsacks: 0 };

  /** Bytes SACKed above SND.UNA. */
  get sackedBytes(): number {
    return this._sacked;
  }

  /** End (exclusive) of the highest SACKed range, or undefined when nothing is SACKed. */
  get highestSacked(): Seq | undefined {
    return this.n > 0 ? (this.ends[this.n - 1]! as Seq) : undefined;
  }

  /**
   * RFC 6675 section 4, Update(): record the SACK blocks of an ACK. `sndUna` is the ACK's
   * cumulative acknowledgment (applied here too, as advance()), `sndNxt` the highest sequence
   * number sent. Blocks reaching above sndNxt are invalid and ignored; parts below sndUna are
   * dropped.
   *
   * RFC 2883 section 4 (D-SACK): "If the first SACK block ... is below the cumulative ACK, or
   * ... is covered by the second SACK block", it reports a duplicate: `dsack` is true and the
   * block is not recorded (it says nothing about holes).
   *
   * Returns the bytes newly SACKed by this ACK (RFC 6675's / RFC 6937's DeliveredData part).
   */
  update(sndUna: Seq, sndNxt: Seq, blocks: readonly SackBlock[]): { newlySacked: number; dsack: boolean } {
    this.advance(sndUna);
    let newly = 0;
    let dsack = false;
    for (let k = 0; k < blocks.length; k++) {
      const b = blocks[k]!;
      let s = b.start;
      const e = b.end;
      if (k === 0) {
        const second = blocks[1];
        if (seqLt(s, sndUna) || (second !== undefined && seqGe(s, second.start) && seqLe(e, second.end))) {
          dsack = true;
          this.stats.dsacks++;
          continue;
        }
      }
      if (!seqLt(s, e) || seqGt(e, sndNxt)) {
        this.stats.invalidBlocks++;
        continue;
      }
      if (seqLe(e, sndUna)) continue;
      if (seqLt(s, sndUna)) s = sndUna;
      newly += this.insert(s, e);
    }
    return { newlySacked: newly, dsack };
  }

  /** Room for more ranges: most connections never see a SACK, so storage starts empty. */
  private grow(): void {
    const cap = Math.min(MAX_SACK_RANGES, Math.max(INITIAL_RANGES, this.starts.length * 2));
    const starts = new Uint32Array(cap);
    const ends = new Uint32Array(cap);
    starts.set(this.starts.subarray(0, this.n));
    ends.set(this.ends.subarray(0, this.n));
    this.starts = starts;
    this.ends = ends;
  }

  /** Merge [s, e) into the ranges; returns the bytes not SACKed before. */
  private insert(s: Seq, e: Seq): number {
    const n = this.n;
    let i = 0;
    while (i < n && seqLt(this.ends[i]! as Seq, s)) i++;
    let j = i;
    while (j < n && seqLe(this.starts[j]! as Seq, e)) j++;
    if (i === j) {
      if (n === MAX_SACK_RANGES) {
        this.stats.rangesFull++;
        return 0;
      }
      if (n === this.starts.length) this.grow();
      this.starts.copyWithin(i + 1, i, n);
      this.ends.copyWithin(i + 1, i, n);
      this.starts[i] = s;
      this.ends[i] = e;
      this.n = n + 1;
      const len = seqDiff(e, s);
      this._sacked += len;
      return len;
    }
    let old = 0;
    for (let k = i; k < j; k++) old += seqDiff(this.ends[k]! as Seq, this.starts[k]! as Seq);
    const first = this.starts[i]! as Seq;
    const last = this.ends[j - 1]! as Seq;
    const ns = seqLt(s, first) ? s : first;
    const ne = seqGt(e, last) ? e : last;
    this.starts[i] = ns;
    this.ends[i] = ne;
    if (j - i > 1) {
      this.starts.copyWithin(i + 1, j, n);
      this.ends.copyWithin(i + 1, j, n);
      this.n = n - (j - i - 1);
    }
    const added = seqDiff(ne, ns) - old;
    this._sacked += added;
    return added;
  }

  /** Cumulative ACK: forget everything below sndUna. */
  advance(sndUna: Seq): void {
    let drop = 0;
    while (drop < this.n && seqLe(this.ends[drop]! as Seq, sndUna)) {
      this._sacked -= seqDiff(this.ends[drop]! as Seq, this.starts[drop]! as Seq);
      drop++;
    }
    if (drop > 0) {
      this.starts.copyWithin(0, drop, this.n);
      this.ends.copyWithin(0, drop, this.n);
      this.n -= drop;
    }
    if (this.n > 0 && seqLt(this.starts[0]! as Seq, sndUna)) {
      this._sacked -= seqDiff(sndUna, this.starts[0]! as Seq);
      this.starts[0] = sndUna;
    }
  }

  /**
   * Retransmission timeout. RFC 6675 section 5.1 recalls RFC 2018's advice that a sender
   * "SHOULD expunge the SACK information gathered from a receiver upon a retransmission
   * timeout since the timeout might indicate that the data receiver has reneged". We follow
   * it: the scoreboard is cleared (Linux instead keeps it unless it detects reneging). SACKs
   * arriving after the timeout are recorded again as usual.
   */
  reset(): void {
    this.n = 0;
    this._sacked = 0;
  }

  /** True when every octet of [start, end) is SACKed (vacuously true when empty). */
  isSacked(start: Seq, end: Seq): boolean {
    if (!seqLt(start, end)) return true;
    for (let k = 0; k < this.n; k++) {
      if (seqLe(this.starts[k]! as Seq, start)) {
        if (seqGe(this.ends[k]! as Seq, end)) return true;
      } else {
        return false;
      }
    }
    return false;
  }

  /**
   * RFC 6675 section 4, IsLost(SeqNum): "This routine returns whether the given sequence
   * number is considered to be lost. The routine returns true when either DupThresh
   * discontiguous SACKed sequences have arrived above 'SeqNum' or more than (DupThresh - 1) *
   * SMSS bytes with sequence numbers greater than 'SeqNum' have been SACKed."
   * A "discontiguous SACKed sequence" is one SACKed range (ranges are kept merged).
   */
  isLost(seqNum: Seq, mss: number, dupThresh = DUP_THRESH): boolean {
    const above = seqAdd(seqNum, 1);
    const byteLimit = (dupThresh - 1) * mss;
    let count = 0;
    let bytes = 0;
    for (let k = this.n - 1; k >= 0; k--) {
      const e = this.ends[k]! as Seq;
      if (seqLe(e, above)) break;
      const s = this.starts[k]! as Seq;
      bytes += seqDiff(e, seqMax(s, above));
      count++;
      if (count >= dupThresh || bytes > byteLimit) return true;
    }
    return false;
  }

  /**
   * RFC 6675 section 4, SetPipe(): "The sender MUST traverse each octet in the sequence space
   * between HighACK and HighData that has not been SACKed:
   *   (a) If IsLost (octet) returns false: pipe += 1
   *   (b) If S1 <= HighRxt: pipe += 1"   (octets retransmitted count again)
   * done per segment: each hole (unSACKed run between SACKed ranges) is cut into SMSS-sized
   * segments from its start; a segment counts if it is not lost, and once more if its first
   * octet S1 was retransmitted (S1 < highRxt with our exclusive highRxt).
   *
   * Cost: O(ranges). Every octet of one hole has the same SACKed data above it, so IsLost is
   * the same for the whole hole; it is evaluated from suffix sums while walking the holes from
   * the top, and the retransmitted segments of a hole are counted arithmetically.
   */
  pipe(sndUna: Seq, sndNxt: Seq, highRxt: Seq, mss: number, dupThresh = DUP_THRESH): number {
    const byteLimit = (dupThresh - 1) * mss;
    let pipe = 0;
    let sufBytes = 0;
    let sufCount = 0;
    for (let h = this.n; h >= 0; h--) {
      if (h < this.n) {
        sufBytes += seqDiff(this.ends[h]! as Seq, this.starts[h]! as Seq);
        sufCount++;
      }
      // Hole h lies between range h-1 (or SND.UNA) and range h (or SND.NXT).
      let hs = h > 0 ? (this.ends[h - 1]! as Seq) : sndUna;
      const he = h < this.n ? (this.starts[h]! as Seq) : sndNxt;
      if (seqLt(hs, sndUna)) hs = sndUna;
      const len = seqDiff(he, hs);
      if (len <= 0) continue;
      const lost = sufCount >= dupThresh || sufBytes > byteLimit;
      if (!lost) pipe += len;
      if (seqLt(hs, highRxt)) {
        const segs = Math.ceil(seqDiff(highRxt, hs) / mss);
        pipe += Math.min(len, segs * mss);
      }
    }
    return pipe;
  }

  /**
   * RFC 6675 section 4, NextSeg(): the next range to send during loss recovery.
   * (1) the lowest unSACKed S2 with (1.a) S2 > HighRxt, (1.b) S2 below the highest SACKed
   *     octet, (1.c) IsLost(S2): one segment of up to SMSS octets starting with S2;
   * (2) else new data, "if the receiver's advertised window allows" (newDataLimit);
   * (3) else an unSACKed S3 meeting (1.a) and (1.b) only;
   * (4) else, "If HighACK is greater than RescueRxt (or RescueRxt is undefined), then one
   *     segment of up to SMSS octets that MUST include the highest outstanding unSACKed
   *     sequence number SHOULD be returned, and RescueRxt set to RecoveryPoint. HighRxt MUST
   *     NOT be updated." — the engine sets rescueRxt = recoveryPoint when it sends rule 4.
   * Segments never reach into SACKed data or beyond SND.NXT. Cost: O(ranges).
   */
  nextSeg(s: NextSegState): NextSegResult | undefined {
    const { sndUna, sndNxt, highRxt, rescueRxt, mss } = s;
    let r3: NextSegResult | undefined;
    if (this.n > 0) {
      // Lowest unSACKed octet at or above max(HighRxt, SND.UNA), and the end of its hole.
      let x = seqMax(highRxt, sndUna);
      let holeEnd: Seq | undefined;
      for (let k = 0; k < this.n; k++) {
        const rs = this.starts[k]! as Seq;
        const re = this.ends[k]! as Seq;
        if (seqLe(re, x)) continue;
        if (seqLe(rs, x)) {
          x = re; // x is SACKed: move to the end of its range
          continue;
        }
        holeEnd = rs; // x is in the hole below range k
        break;
      }
      // (1.b): only holes below a SACKed range qualify.
      if (holeEnd !== undefined) {
        const end = seqDiff(holeEnd, x) > mss ? seqAdd(x, mss) : holeEnd;
        if (this.isLost(x, mss)) return { start: x, end, rule: 1 };
        r3 = { start: x, end, rule: 3 };
      }
    }
    // (2) new data.
    if (seqLt(sndNxt, s.newDataLimit)) {
      const end = seqDiff(s.newDataLimit, sndNxt) > mss ? seqAdd(sndNxt, mss) : s.newDataLimit;
      return { start: sndNxt, end, rule: 2 };
    }
    if (r3 !== undefined) return r3;
    // (4) rescue retransmission of the highest outstanding unSACKed octet.
    if (rescueRxt === undefined || seqGt(sndUna, rescueRxt)) {
      for (let h = this.n; h >= 0; h--) {
        let hs = h > 0 ? (this.ends[h - 1]! as Seq) : sndUna;
        const he = h < this.n ? (this.starts[h]! as Seq) : sndNxt;
        if (seqLt(hs, sndUna)) hs = sndUna;
        if (!seqLt(hs, he)) continue;
        const start = seqDiff(he, hs) > mss ? seqAdd(he, -mss) : hs;
        return { start, end: he, rule: 4 };
      }
    }
    return undefined;
  }

  /** The SACKed ranges, ascending (for tests and diagnostics; allocates). */
  blocks(): SackBlock[] {
    const out: SackBlock[] = [];
    for (let k = 0; k < this.n; k++) out.push({ start: this.starts[k]! as Seq, end: this.ends[k]! as Seq });
    return out;
  }
}
