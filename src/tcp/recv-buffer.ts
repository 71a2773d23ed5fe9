/**
 * The receive side's storage: a byte ring, an out-of-order assembler, and the SACK blocks
 * (RFC 2018) and D-SACK block (RFC 2883) that describe what it holds.
 *
 * Layout. Ring index `head` holds the first unread byte; the `readable` in-order bytes follow
 * it; then comes the sequence number rcvNxt, whose byte would live at ring index
 * (head + readable) mod size. Any byte with sequence number s in [rcvNxt, rcvNxt + window)
 * has a fixed home at (head + readable + (s - rcvNxt)) mod size, so out-of-order data is
 * written directly where it will be read from, and filling a hole never moves bytes.
 * `window = capacity - readable`: the right edge rcvNxt + window only moves forward (when the
 * application reads), so the advertised window never shrinks (RFC 9293 section 3.8.6.2.2
 * discourages shrinking).
 *
 * Storage on demand. `capacity` (SO_RCVBUF) is what the window is computed from; the ring's
 * storage (`size` bytes) is only what the held data needs. It is empty until data arrives,
 * taken then as a power of two from 4 KiB (or the size the last busy period needed), doubled
 * whenever a segment's home lies beyond it (the held bytes are moved once, linearly, so every
 * home stays valid), never beyond `capacity`; and given back to the layer's BufferPool as
 * soon as nothing is held. Growing storage is invisible to the peer: the window it sees
 * depends on `capacity` only (RFC 7323 window scale is chosen from it too).
 *
 * Assembler. The out-of-order data is a sorted list of disjoint, non-adjacent ranges
 * [start, end) strictly above rcvNxt, in one typed array taken on the first out-of-order
 * segment. It holds at most MAX_OOO_RANGES ranges: a segment that would need a new range when
 * the list is full is dropped (counted in `stats.assemblerFull`; the peer will retransmit
 * it), while a segment that overlaps or touches an existing range (or rcvNxt) is always kept,
 * since it adds no range. Cost per write: O(ranges) <= 32 steps.
 *
 * Hot path. An in-order segment that fits without wrapping the ring is copied with one
 * `Uint8Array.set` and allocates nothing; trimming and wrapping take a `subarray` view.
 */
import { seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, type Seq } from '../core/seq.js';
import { storageSize, type BufferPool, type RangeArrays } from './send-buffer.js';

/** A SACK block [start, end) (RFC 2018 section 3: "Left Edge" and "Right Edge"). */
export interface SackBlock {
  start: Seq;
  end: Seq;
}

/** Out-of-order ranges the assembler tracks at most (see the class comment). */
export const MAX_OOO_RANGES = 32;

// Shared zero-length stand-ins while a buffer holds no storage / no out-of-order ranges.
const NO_BYTES = new Uint8Array(0);
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);

/** Why data handed to write() was not stored (segment counts). */
export interface ReceiveBufferStats {
  /** A segment needed a new out-of-order range while MAX_OOO_RANGES were in use. */
  assemblerFull: number;
  /** A segment (or its tail) lay at or beyond rcvNxt + window. */
  beyondWindow: number;
  /** A segment lay entirely below rcvNxt (an old duplicate). */
  duplicate: number;
}

export class ReceiveBuffer {
  /** Storage (NO_BYTES while nothing is held); its length is the ring size. */
  private ring: Uint8Array = NO_BYTES;
  private cap: number;
  private head = 0;
  private _readable = 0;
  private _rcvNxt: Seq = seq(0);
  /** Most bytes held (readable + out-of-order extent) since the storage was taken. */
  private peak = 0;
  private hint = 0;
  private readonly pool: BufferPool | undefined;

  // Out-of-order ranges, ascending, in arrays taken on the first out-of-order segment.
  // `rStamp` is the arrival count of the latest segment that landed in the range: RFC 2018
  // section 4 orders SACK blocks by recency of that event.
  private rStart: Uint32Array = NO_U32;
  private rEnd: Uint32Array = NO_U32;
  private rStamp: Float64Array = NO_F64;
  /** The set the three arrays came from (given back to the pool with them). */
  private rangeSet: RangeArrays | undefined = undefined;
  private nRanges = 0;
  private _ooo = 0;
  private arrivals = 0;

  // D-SACK of the most recent write (RFC 2883).
  private hasDsack = false;
  private dsStart: Seq = seq(0);
  private dsEnd: Seq = seq(0);

  private nAssemblerFull = 0;
  private nBeyondWindow = 0;
  private nDuplicate = 0;

  constructor(capacity: number, pool?: BufferPool) {
    checkCapacity(capacity);
    this.cap = capacity;
    this.pool = pool;
  }

  /** Why data was not stored, so far (a snapshot). */
  get stats(): ReceiveBufferStats {
    return { assemblerFull: this.nAssemblerFull, beyondWindow: this.nBeyondWindow, duplicate: this.nDuplicate };
  }

  /** Start receiving at `rcvNxt` (after the SYN: IRS + 1). Discards anything held. */
  init(rcvNxt: Seq): void {
    this._rcvNxt = seq(rcvNxt);
    this.head = 0;
    this._readable = 0;
    this.nRanges = 0;
    this._ooo = 0;
    this.hasDsack = false;
    this.release();
  }

  /** Next in-order sequence number expected (RCV.NXT). */
  get rcvNxt(): Seq {
    return this._rcvNxt;
  }
  /** In-order bytes waiting for the application. */
  get readable(): number {
    return this._readable;
  }
  get capacity(): number {
    return this.cap;
  }
  /** Bytes of storage held now (0 while nothing is held). */
  get storageBytes(): number {
    return this.ring.length;
  }
  /** What may be advertised (RCV.WND): capacity - readable. Out-of-order bytes live inside it. */
  get window(): number {
    return this.cap - this._readable;
  }
  /** Bytes held above rcvNxt, waiting for a hole to fill. */
  get outOfOrderBytes(): number {
    return this._ooo;
  }
  /** Number of out-of-order ranges held (<= MAX_OOO_RANGES). */
  get rangeCount(): number {
    return this.nRanges;
  }

  /**
   * Store segment data starting at `s`. Bytes before rcvNxt (duplicates) and at or beyond
   * rcvNxt + window are trimmed and ignored; overlaps with held data are fine (the copy is
   * overwritten with the same bytes). Returns how far rcvNxt advanced.
   */
  write(s: Seq, data: Uint8Array): number {
    this.hasDsack = false;
    const len = data.length;
    if (len === 0) return 0;
    let off = seqDiff(s, this._rcvNxt);
    let skip = 0;
    if (off < 0) {
      // RFC 2883 section 4 (1): a segment (partly) below the cumulative ACK is a duplicate;
      // report the duplicate part as a D-SACK block.
      skip = -off;
      this.hasDsack = true;
      this.dsStart = s;
      if (skip >= len) {
        this.dsEnd = seqAdd(s, len);
        this.nDuplicate++;
        return 0;
      }
      this.dsEnd = this._rcvNxt;
      off = 0;
    }
    const win = this.cap - this._readable;
    if (off >= win) {
      this.nBeyondWindow++;
      return 0;
    }
    let end = off + (len - skip);
    if (end > win) {
      this.nBeyondWindow++;
      end = win;
    }
    // The home of the last byte must lie inside the storage (end <= win: never beyond capacity).
    const need = this._readable + end;
    if (need > this.ring.length) this.grow(need);
    if (need > this.peak) this.peak = need;
    return off === 0 ? this.writeInOrder(data, skip, end) : this.writeOutOfOrder(data, skip, off, end);
  }

  /** Data at rcvNxt: copy it, then absorb every out-of-order range it reaches. */
  private writeInOrder(data: Uint8Array, skip: number, n: number): number {
    this.copyIn(0, data, skip, n);
    let adv = n;
    if (this.nRanges > 0) {
      let newEnd = seqAdd(this._rcvNxt, n);
      let i = 0;
      while (i < this.nRanges && seqLe(this.rStart[i]! as Seq, newEnd)) {
        const e = this.rEnd[i]! as Seq;
        if (seqGt(e, newEnd)) newEnd = e;
        this._ooo -= seqDiff(e, this.rStart[i]! as Seq);
        i++;
      }
      if (i > 0) this.removeRanges(0, i);
      adv = seqDiff(newEnd, this._rcvNxt);
    }
    this._rcvNxt = seqAdd(this._rcvNxt, adv);
    this._readable += adv;
    return adv;
  }

  /** Data above rcvNxt, at offsets [off, end) from rcvNxt. Never advances rcvNxt. */
  private writeOutOfOrder(data: Uint8Array, skip: number, off: number, end: number): number {
    const s0 = seqAdd(this._rcvNxt, off);
    const e0 = seqAdd(this._rcvNxt, end);
    const n = this.nRanges;
    // Ranges i..j-1 overlap or touch [s0, e0].
    let i = 0;
    while (i < n && seqLt(this.rEnd[i]! as Seq, s0)) i++;
    let j = i;
    while (j < n && seqLe(this.rStart[j]! as Seq, e0)) j++;
    const stamp = ++this.arrivals;
    if (j === i) {
      if (n === MAX_OOO_RANGES) {
        // Assembler full: the documented drop. Nothing was stored, no SACK state changes.
        this.arrivals--;
        this.nAssemblerFull++;
        return 0;
      }
      if (this.rangeSet === undefined) this.takeRanges();
      this.rStart.copyWithin(i + 1, i, n);
      this.rEnd.copyWithin(i + 1, i, n);
      this.rStamp.copyWithin(i + 1, i, n);
      this.rStart[i] = s0;
      this.rEnd[i] = e0;
      this.rStamp[i] = stamp;
      this.nRanges = n + 1;
      this._ooo += end - off;
      this.copyIn(off, data, skip, end - off);
      return 0;
    }
    const first = this.rStart[i]! as Seq;
    const last = this.rEnd[j - 1]! as Seq;
    if (j - i === 1 && seqLe(first, s0) && seqGe(last, e0)) {
      // Entirely inside one held range: a duplicate. RFC 2883 section 4 (2): D-SACK it; the
      // containing block becomes the most recent one (RFC 2018: "the block containing the
      // segment which triggered this ACK").
      this.hasDsack = true;
      this.dsStart = s0;
      this.dsEnd = e0;
      this.rStamp[i] = stamp;
      return 0;
    }
    for (let k = i; k < j; k++) this._ooo -= seqDiff(this.rEnd[k]! as Seq, this.rStart[k]! as Seq);
    const ns = seqLt(s0, first) ? s0 : first;
    const ne = seqGt(e0, last) ? e0 : last;
    this.rStart[i] = ns;
    this.rEnd[i] = ne;
    this.rStamp[i] = stamp;
    this._ooo += seqDiff(ne, ns);
    if (j - i > 1) this.removeRanges(i + 1, j);
    this.copyIn(off, data, skip, end - off);
    return 0;
  }

  /** Remove ranges [from, to). */
  private removeRanges(from: number, to: number): void {
    const n = this.nRanges;
    this.rStart.copyWithin(from, to, n);
    this.rEnd.copyWithin(from, to, n);
    this.rStamp.copyWithin(from, to, n);
    this.nRanges = n - (to - from);
  }

  /** Copy data[skip, skip+n) to the home of offset `off` above rcvNxt (inside the storage). */
  private copyIn(off: number, data: Uint8Array, skip: number, n: number): void {
    const size = this.ring.length;
    let pos = this.head + this._readable + off;
    if (pos >= size) pos -= size;
    const first = Math.min(n, size - pos);
    if (skip === 0 && first === data.length) {
      this.ring.set(data, pos); // the common case: no view, no allocation
      return;
    }
    this.ring.set(data.subarray(skip, skip + first), pos);
    if (n > first) this.ring.set(data.subarray(skip + first, skip + n), 0);
  }

  /** Copy out up to dst.length in-order bytes, freeing window. Returns the count. */
  read(dst: Uint8Array): number {
    const n = this.peek(dst, 0);
    this.head += n;
    if (this.head >= this.ring.length) this.head -= this.ring.length;
    this._readable -= n;
    // Nothing held at all: give the storage back (later data starts at ring index 0).
    if (this._readable === 0 && this.nRanges === 0) {
      this.head = 0;
      this.release();
    }
    return n;
  }

  /** Copy up to dst.length in-order bytes starting `offset` bytes into the readable data, without consuming. */
  peek(dst: Uint8Array, offset = 0): number {
    if (!(offset >= 0)) offset = 0;
    const n = Math.min(dst.length, this._readable - offset);
    if (n <= 0) return 0;
    const size = this.ring.length;
    let pos = this.head + offset;
    if (pos >= size) pos -= size;
    const first = Math.min(n, size - pos);
    dst.set(this.ring.subarray(pos, pos + first), 0);
    if (n > first) dst.set(this.ring.subarray(0, n - first), first);
    return n;
  }

  /**
   * SACK blocks for an outgoing ACK, RFC 2018 section 4: "The first SACK block ... MUST specify
   * the contiguous block of data containing the segment which triggered this ACK, unless that
   * segment advanced the Acknowledgment Number field in the header", and the others SHOULD
   * repeat "the most recently reported SACK blocks ... that are not subsets of a SACK block
   * already included". Each held range carries the arrival count of the last segment that
   * landed in it (merged ranges keep the newest), and a range is reported first exactly when a
   * segment lands in it, so "most recently reported" is "highest stamp". Ranges merge as holes
   * fill, so no block is a subset of another. At most `max` blocks; all are above rcvNxt.
   */
  sackBlocks(max: number): SackBlock[] {
    const out: SackBlock[] = [];
    const n = Math.min(max, this.nRanges);
    let prev = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const idx = this.nextByStamp(prev);
      prev = this.rStamp[idx]!;
      out.push({ start: this.rStart[idx]! as Seq, end: this.rEnd[idx]! as Seq });
    }
    return out;
  }

  /**
   * Allocation-free sackBlocks(): writes start, end pairs into `out` (2 entries per block, at
   * most out.length / 2 and `max` blocks) and returns the number of blocks.
   */
  sackBlocksInto(out: Uint32Array, max: number): number {
    const n = Math.min(max, this.nRanges, out.length >> 1);
    let prev = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const idx = this.nextByStamp(prev);
      prev = this.rStamp[idx]!;
      out[2 * k] = this.rStart[idx]!;
      out[2 * k + 1] = this.rEnd[idx]!;
    }
    return n;
  }

  /** Index of the range with the highest stamp below `below` (stamps are unique). */
  private nextByStamp(below: number): number {
    let best = -1;
    let bestStamp = -1;
    for (let r = 0; r < this.nRanges; r++) {
      const st = this.rStamp[r]!;
      if (st < below && st > bestStamp) {
        bestStamp = st;
        best = r;
      }
    }
    return best;
  }

  /**
   * RFC 2883 section 4: the D-SACK block for the most recent write() — the duplicate bytes it
   * carried (below rcvNxt, or entirely inside a held range) — or undefined. When present it
   * goes first in the SACK option, followed by sackBlocks() (whose first block then is the
   * containing block when the duplicate was above rcvNxt). Cleared by the next write().
   */
  dsackBlock(): SackBlock | undefined {
    return this.hasDsack ? { start: this.dsStart, end: this.dsEnd } : undefined;
  }

  /**
   * SO_RCVBUF: change the capacity (normally before the connection carries data). Held bytes
   * are kept, so the new capacity is raised to at least what is held: readable bytes plus the
   * extent of the out-of-order data. Shrinking below an already advertised right edge would
   * shrink the window; callers should only grow a live buffer.
   */
  setCapacity(n: number): void {
    checkCapacity(n);
    const held = this.heldExtent();
    this.cap = Math.max(n, held);
    if (this.ring.length > this.cap) this.reshape(storageSize(held, 0, this.cap));
  }

  /** Readable bytes plus the extent of the out-of-order data: the storage in use. */
  private heldExtent(): number {
    return this._readable + (this.nRanges > 0 ? seqDiff(this.rEnd[this.nRanges - 1]! as Seq, this._rcvNxt) : 0);
  }

  /** Bigger storage for `need` bytes from the head: doubling, at most the capacity. */
  private grow(need: number): void {
    this.reshape(storageSize(need, Math.max(this.hint, this.ring.length * 2), this.cap));
  }

  /**
   * Move what is held into new storage of `size` bytes (>= heldExtent()), linearly from ring
   * index 0: every byte keeps its offset from the head, so every home stays valid.
   */
  private reshape(size: number): void {
    const next = this.pool !== undefined ? this.pool.take(size) : new Uint8Array(size);
    const held = this.heldExtent();
    if (held > 0) {
      const old = this.ring;
      const first = Math.min(held, old.length - this.head);
      next.set(old.subarray(this.head, this.head + first), 0);
      if (held > first) next.set(old.subarray(0, held - first), first);
    }
    if (this.ring.length > 0) this.pool?.give(this.ring);
    this.ring = next;
    this.head = 0;
  }

  /** The assembler's arrays, from the pool when it has a set. */
  private takeRanges(): void {
    const r = this.pool?.takeRanges() ?? {
      start: new Uint32Array(MAX_OOO_RANGES),
      end: new Uint32Array(MAX_OOO_RANGES),
      stamp: new Float64Array(MAX_OOO_RANGES),
    };
    this.rangeSet = r;
    this.rStart = r.start;
    this.rEnd = r.end;
    this.rStamp = r.stamp;
  }

  /** Nothing held: give the storage and the range arrays back; size the next storage by this peak. */
  private release(): void {
    if (this.ring.length > 0) {
      this.hint = storageSize(this.peak, 0, this.cap);
      this.pool?.give(this.ring);
      this.ring = NO_BYTES;
    }
    this.peak = 0;
    const r = this.rangeSet;
    if (r !== undefined) {
      this.pool?.giveRanges(r);
      this.rangeSet = undefined;
      this.rStart = NO_U32;
      this.rEnd = NO_U32;
      this.rStamp = NO_F64;
    }
  }
}

function checkCapacity(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 0x40000000) {
    throw new RangeError(`receive buffer capacity must be an integer in [1, 2^30], got ${n}`);
  }
}
