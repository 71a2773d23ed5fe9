/**
 * The sender's transmit log for RACK (RFC 8985 section 6.1, "per-segment variables"): when
 * each octet in flight was last sent, whether that was a retransmission, and whether it was
 * SACKed or is deemed lost.
 *
 * Representation: one record per transmission, not per segment — a TSO super-segment of 44
 * segments is one record, like Linux's skb with a pcount — kept in ONE Float64Array with
 * STRIDE slots per record (start, end, transmit time, flags), sorted by sequence number and
 * tiling [SND.UNA, SND.MAX). Records live in slots [head, tail): the cumulative ACK advances
 * `head`; storage is compacted or doubled when `tail` reaches the end. A retransmission
 * replaces the records it covers (splitting the edges) by one record with the new time; a
 * SACK block splits at its edges and marks the records inside, merging them with SACKed
 * neighbours, so a SACKed run costs one record however many segments it holds. Nothing is
 * allocated per segment; the array is taken at the first transmission, grows by doubling, and
 * is given back when a large log empties (RETAIN_RECORDS).
 *
 * Sequence numbers are stored as their unsigned 32-bit values and compared only through
 * the seq helpers.
 */
import { seqDiff, seqLe, seqLt, type Seq } from '../../core/seq.js';

/** Slots of a record. */
export const R_START = 0;
export const R_END = 1;
export const R_TS = 2;
export const R_FLAGS = 3;
export const STRIDE = 4;

/** Record flags. */
export const F_RTX = 1;
export const F_SACKED = 2;
export const F_LOST = 4;

/**
 * First allocation, records. Small: one burst of new data is one record, so a request/response
 * connection rarely needs more than a few (128 bytes); bulk transfers grow it by doubling.
 */
const INITIAL_RECORDS = 4;
/** The storage of every empty log (shared: creating a log allocates nothing). */
const NO_RECORDS = new Float64Array(0);
/** Records a log may always have, whatever the flight (see TransmitLog.splitBytes). */
const SPLIT_FREE = 64;
/**
 * An emptied log larger than this (32 KB) gives its array back: a connection that once had a
 * large flight in the air must not hold its peak storage for the rest of its life (memory per
 * idle connection). Smaller arrays are kept, so request/response traffic does not reallocate.
 */
export const RETAIN_RECORDS = 1024;

/** Told about every record (part) that a cumulative ACK or SACK block delivers for the first time. */
export type DeliveredFn = (start: Seq, end: Seq, ts: number, flags: number) => void;

export class TransmitLog {
  /** Records: [start, end, ts, flags] * n, live in slots [head, tail). */
  r: Float64Array = NO_RECORDS;
  head = 0;
  tail = 0;
  /** Octets in SACKed records. */
  sackedBytes = 0;
  /** Octets in lost records (deemed lost and not retransmitted since). */
  lostBytes = 0;
  /**
   * SACK blocks split records only while there are fewer than SPLIT_FREE + flight / splitBytes
   * of them. The peer chooses the block edges: SACKing every other octet would otherwise make
   * one record per octet in flight (32 bytes each, and detectLoss walks them on every ACK).
   * Past the limit, a block edge inside a record leaves that record unSACKed — conservative:
   * RACK may retransmit it — while whole records are still marked. 0: no limit.
   */
  splitBytes = 64;

  get count(): number {
    return this.tail - this.head;
  }

  start(i: number): Seq {
    return this.r[i * STRIDE + R_START]! as Seq;
  }
  end(i: number): Seq {
    return this.r[i * STRIDE + R_END]! as Seq;
  }
  ts(i: number): number {
    return this.r[i * STRIDE + R_TS]!;
  }
  flags(i: number): number {
    return this.r[i * STRIDE + R_FLAGS]!;
  }

  /** Forget everything (the connection left the states that send data). */
  clear(): void {
    this.head = this.tail = 0;
    this.sackedBytes = this.lostBytes = 0;
  }

  /**
   * A transmission of [start, end) at `ts`. New data is appended; octets sent before are
   * replaced by one record (RFC 8985 6.1: a retransmitted segment takes the new transmit
   * time and is no longer lost). Records partly covered are split.
   */
  transmit(start: Seq, end: Seq, ts: number, rtx: boolean): void {
    // An empty range would become an empty record (the callers never send one).
    if (!seqLt(start, end)) return;
    const flags = rtx ? F_RTX : 0;
    this.reserve(3);
    if (this.tail === this.head || !seqLt(start, this.end(this.tail - 1))) {
      // New data sent at the same time as the record it continues (one output() burst of
      // MSS-sized segments) extends that record: RACK treats them alike anyway, as Linux
      // does one TSO skb, and a burst costs one record instead of one per segment.
      const b = (this.tail - 1) * STRIDE;
      const r = this.r;
      if (flags === 0 && this.tail > this.head && r[b + R_FLAGS] === 0 && r[b + R_TS] === ts && r[b + R_END] === start) {
        r[b + R_END] = end;
        return;
      }
      this.insert(this.tail, start, end, ts, flags);
      return;
    }
    // First record ending after `start`, last one starting before `end`.
    let i = this.findEndAfter(start);
    if (seqLt(this.start(i), start)) {
      this.split(i, start);
      i++;
    }
    let j = i;
    while (j < this.tail && seqLt(this.start(j), end)) j++;
    // Records i..j-1 start inside [start, end); the last may reach beyond `end`.
    if (j > i && seqLt(end, this.end(j - 1))) this.split(j - 1, end);
    for (let k = i; k < j; k++) this.account(k, -1);
    this.removeRange(i, j);
    // A transmission reaching past the last record sends new octets too: one record for all.
    this.insert(i, start, end, ts, flags);
  }

  /**
   * Cumulative ACK up to `una`: records below it leave the log; `delivered` hears about the
   * octets that were not SACKed before (RFC 8985 6.2: "newly acknowledged, cumulatively").
   */
  ackTo(una: Seq, delivered: DeliveredFn): void {
    const r = this.r;
    while (this.tail > this.head) {
      const b = this.head * STRIDE;
      const s = r[b + R_START]! as Seq;
      const e = r[b + R_END]! as Seq;
      if (!seqLt(s, una)) break;
      const f = r[b + R_FLAGS]!;
      const upTo = seqLt(una, e) ? una : e;
      if ((f & F_SACKED) === 0) delivered(s, upTo, r[b + R_TS]!, f);
      const n = seqDiff(upTo, s);
      if (f & F_SACKED) this.sackedBytes -= n;
      if (f & F_LOST) this.lostBytes -= n;
      if (upTo === e) {
        this.head++;
      } else {
        r[b + R_START] = una;
        break;
      }
    }
    if (this.head === this.tail) {
      this.head = this.tail = 0;
      if (this.r.length > RETAIN_RECORDS * STRIDE) this.r = NO_RECORDS;
    }
  }

  /**
   * One SACK block [s, e) (already validated against SND.UNA / SND.MAX): records inside are
   * marked SACKed; `delivered` hears about those that were not. Lost records that turn out
   * delivered stop counting as lost. Returns the octets newly SACKed.
   */
  sack(s: Seq, e: Seq, delivered: DeliveredFn): number {
    if (this.tail === this.head || !seqLt(s, e)) return 0;
    this.reserve(2);
    let i = this.findEndAfter(s);
    if (i >= this.tail) return 0;
    let newly = 0;
    let first = -1;
    let last = -1;
    while (i < this.tail && seqLt(this.start(i), e)) {
      const b = i * STRIDE;
      const f = this.r[b + R_FLAGS]!;
      if ((f & F_SACKED) === 0) {
        // Cut the record to the block: only [s, e) is SACKed.
        if (seqLt(this.start(i), s)) {
          if (this.canSplit()) this.split(i, s);
          i++;
          continue;
        }
        if (seqLt(e, this.end(i))) {
          if (!this.canSplit()) break;
          this.split(i, e);
        }
        const bb = i * STRIDE;
        const rs = this.r[bb + R_START]! as Seq;
        const re = this.r[bb + R_END]! as Seq;
        delivered(rs, re, this.r[bb + R_TS]!, f);
        this.account(i, -1);
        this.r[bb + R_FLAGS] = (f & F_RTX) | F_SACKED;
        this.account(i, 1);
        newly += seqDiff(re, rs);
      }
      if (first < 0) first = i;
      last = i;
      i++;
    }
    if (first >= 0) this.mergeSacked(first, last);
    return newly;
  }

  /** Mark record i lost (RFC 8985 6.2 step 5: "Segment.lost = TRUE"). */
  markLost(i: number): void {
    const b = i * STRIDE;
    const f = this.r[b + R_FLAGS]!;
    if (f & (F_LOST | F_SACKED)) return;
    this.r[b + R_FLAGS] = f | F_LOST;
    this.lostBytes += seqDiff(this.end(i), this.start(i));
  }

  /** Forget SACK and loss marks (RTO with the SACK scoreboard expunged, or reneging). */
  resetMarks(): void {
    const r = this.r;
    for (let i = this.head; i < this.tail; i++) r[i * STRIDE + R_FLAGS]! &= F_RTX;
    this.sackedBytes = this.lostBytes = 0;
  }

  /**
   * Index of the lowest lost record, or -1; with `from`, of the lowest lost record ending
   * after it (the caller knows nothing below is lost: a burst of retransmissions walks the
   * log once, not once per segment).
   */
  firstLost(from?: Seq): number {
    if (this.lostBytes <= 0) return -1;
    const r = this.r;
    const i0 = from === undefined ? this.head : this.findEndAfter(from);
    for (let i = i0; i < this.tail; i++) if (r[i * STRIDE + R_FLAGS]! & F_LOST) return i;
    return -1;
  }

  // ------------------------------------------------------------------ storage

  /** A SACK edge may split a record (see splitBytes). */
  private canSplit(): boolean {
    const n = this.tail - this.head;
    if (this.splitBytes <= 0 || n < SPLIT_FREE) return true;
    return n < SPLIT_FREE + seqDiff(this.end(this.tail - 1), this.start(this.head)) / this.splitBytes;
  }

  /** First record whose end is after `s` (binary search; records are sorted), or tail. */
  private findEndAfter(s: Seq): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqLe(this.end(mid), s)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Add (+1) or remove (-1) record i's octets from the SACKed / lost totals. */
  private account(i: number, sign: number): void {
    const f = this.flags(i);
    if ((f & (F_SACKED | F_LOST)) === 0) return;
    const n = sign * seqDiff(this.end(i), this.start(i));
    if (f & F_SACKED) this.sackedBytes += n;
    else this.lostBytes += n;
  }

  /** Cut record i at `at` (strictly inside it) into two records with the same time and flags. */
  private split(i: number, at: Seq): void {
    const b = i * STRIDE;
    const r = this.r;
    this.insert(i + 1, at, r[b + R_END]! as Seq, r[b + R_TS]!, r[b + R_FLAGS]!);
    this.r[b + R_END] = at;
  }

  /** Merge SACKed records first..last with each other and with SACKed neighbours. */
  private mergeSacked(first: number, last: number): void {
    let lo = first;
    let hi = last;
    if (lo > this.head && this.flags(lo - 1) & F_SACKED) lo--;
    if (hi + 1 < this.tail && this.flags(hi + 1) & F_SACKED) hi++;
    if (hi === lo) return;
    this.r[lo * STRIDE + R_END] = this.end(hi);
    this.removeRange(lo + 1, hi + 1);
  }

  /** Insert a record at slot `at` (room was reserved). */
  private insert(at: number, s: Seq, e: Seq, ts: number, flags: number): void {
    const r = this.r;
    if (at < this.tail) r.copyWithin((at + 1) * STRIDE, at * STRIDE, this.tail * STRIDE);
    const b = at * STRIDE;
    r[b + R_START] = s;
    r[b + R_END] = e;
    r[b + R_TS] = ts;
    r[b + R_FLAGS] = flags;
    this.tail++;
  }

  /** Remove records [i, j). */
  private removeRange(i: number, j: number): void {
    if (j <= i) return;
    this.r.copyWithin(i * STRIDE, j * STRIDE, this.tail * STRIDE);
    this.tail -= j - i;
  }

  /**
   * Room for `k` more records after `tail`: compact to slot 0 or double. Called once at the
   * start of an operation, before any index is computed (it moves the records).
   */
  private reserve(k: number): void {
    if ((this.tail + k) * STRIDE <= this.r.length) return;
    const n = this.tail - this.head;
    const cap = this.r.length / STRIDE;
    if (n + k <= cap - (cap >>> 2)) {
      this.r.copyWithin(0, this.head * STRIDE, this.tail * STRIDE);
    } else {
      let size = Math.max(INITIAL_RECORDS, cap * 2);
      while (size < n + k) size *= 2;
      const next = new Float64Array(size * STRIDE);
      next.set(this.r.subarray(this.head * STRIDE, this.tail * STRIDE));
      this.r = next;
    }
    this.head = 0;
    this.tail = n;
  }
}
