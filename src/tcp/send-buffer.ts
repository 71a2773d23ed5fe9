/**
 * The send buffer: a byte ring holding every octet from SND.UNA to the end of the data
 * the application queued (RFC 9293 3.3.1: "send sequence space" parts 2 and 3).
 *
 * Offsets are relative to the ring head, which is the octet at SND.UNA (or the first data
 * octet while the SYN is unacknowledged). Acknowledged octets are released with
 * `consume()`; retransmissions read any range again with `copyOut()`.
 *
 * Storage grows on demand. `capacity` (SO_SNDBUF) is how much may be queued; the ring's
 * storage starts empty, is taken when data is first written (a power of two from 4 KiB,
 * large enough for the write, or as large as the last busy period needed), doubles while
 * more is queued, up to `capacity`, and is given back (to the layer's BufferPool) as soon as
 * everything was acknowledged. An idle connection holds no storage; a busy one grows once
 * and then writes, copies out and consumes without allocating.
 */

/** Smallest storage a buffer takes (Linux's skb truesize is of the same order). */
export const MIN_STORAGE = 4096;
const MIN_SHIFT = 12;
/** Largest storage the pool keeps (1 GiB: the largest receive window, RFC 7323). */
const MAX_SHIFT = 30;
const EMPTY = new Uint8Array(0);
/** Assembler array sets the pool keeps at most. */
const MAX_RANGE_SETS = 64;

/** The arrays of a ReceiveBuffer's out-of-order assembler (see recv-buffer.ts). */
export interface RangeArrays {
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  readonly stamp: Float64Array;
}

/**
 * Storage for the send and receive buffers of one TcpLayer: byte arrays of power-of-two
 * sizes, kept when a buffer gives its storage back and handed out again, so connections
 * that empty and refill their buffers (request/response, bursts) do not allocate. Bounded:
 * at most `maxBytes` in all, and a quarter of that per size (so many small arrays cannot
 * crowd out the few large ones a bulk transfer cycles through); beyond that, given-back
 * arrays are left to the garbage collector. Arrays come back with old contents; the buffers
 * only ever read bytes they wrote.
 */
export class BufferPool {
  readonly maxBytes: number;
  private readonly lists: Uint8Array[][] = [];
  private readonly rangeSets: RangeArrays[] = [];
  private held = 0;
  /** Arrays handed out / of those, taken from the pool (allocation-free). */
  taken = 0;
  reused = 0;

  constructor(maxBytes = 4 << 20) {
    this.maxBytes = maxBytes;
    for (let s = MIN_SHIFT; s <= MAX_SHIFT; s++) this.lists.push([]);
  }

  /** Bytes kept in the pool now. */
  get bytes(): number {
    return this.held;
  }

  /** A byte array of exactly `size` bytes, contents unspecified. */
  take(size: number): Uint8Array {
    this.taken++;
    const k = classOf(size);
    if (k >= 0) {
      const b = this.lists[k]!.pop();
      if (b !== undefined) {
        this.held -= size;
        this.reused++;
        return b;
      }
    }
    return new Uint8Array(size);
  }

  /** Assembler arrays given back earlier, if any (the caller makes new ones otherwise). */
  takeRanges(): RangeArrays | undefined {
    return this.rangeSets.pop();
  }

  giveRanges(r: RangeArrays): void {
    if (this.rangeSets.length < MAX_RANGE_SETS) this.rangeSets.push(r);
  }

  /** Keep `b` for a later take() (only whole arrays of a pooled size, within maxBytes). */
  give(b: Uint8Array): void {
    const k = classOf(b.length);
    if (k < 0 || b.byteOffset !== 0 || b.buffer.byteLength !== b.length || this.held + b.length > this.maxBytes) return;
    const list = this.lists[k]!;
    if ((list.length + 1) * b.length > this.maxBytes >>> 2 && list.length > 0) return;
    list.push(b);
    this.held += b.length;
  }
}

/** Pool list index of a power-of-two size in [2^MIN_SHIFT, 2^MAX_SHIFT], else -1. */
function classOf(size: number): number {
  if (size < MIN_STORAGE || size > 1 << MAX_SHIFT || (size & (size - 1)) !== 0) return -1;
  return 31 - Math.clz32(size) - MIN_SHIFT;
}

/**
 * Storage size for holding `need` bytes: a power of two from max(MIN_STORAGE, hint) up,
 * never above `capacity` (which need not be a power of two).
 */
export function storageSize(need: number, hint: number, capacity: number): number {
  let size = hint > MIN_STORAGE ? hint : MIN_STORAGE;
  while (size < need) size *= 2;
  return size < capacity ? size : capacity;
}

export class SendBuffer {
  private buf: Uint8Array = EMPTY;
  private cap: number;
  private head = 0;
  private len = 0;
  /** Most octets queued since the storage was taken; sizes the next storage. */
  private peak = 0;
  private hint = 0;
  private readonly pool: BufferPool | undefined;

  constructor(capacity: number, pool?: BufferPool) {
    if (!(capacity > 0)) throw new RangeError(`send buffer capacity must be positive, got ${capacity}`);
    this.cap = capacity;
    this.pool = pool;
  }

  /** How many octets may be queued (SO_SNDBUF). */
  get capacity(): number {
    return this.cap;
  }

  /** Bytes of storage held now (0 while nothing is queued). */
  get storageBytes(): number {
    return this.buf.length;
  }

  /** Queued octets (unacknowledged + not yet sent). */
  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.cap - this.len;
  }

  /** Append as much of src as fits; returns the count taken. */
  write(src: Uint8Array): number {
    const n = Math.min(src.length, this.cap - this.len);
    if (n === 0) return 0;
    if (this.len + n > this.buf.length) this.reshape(storageSize(this.len + n, Math.max(this.hint, this.buf.length * 2), this.cap));
    const size = this.buf.length;
    let tail = this.head + this.len;
    if (tail >= size) tail -= size;
    const first = Math.min(n, size - tail);
    this.buf.set(first === src.length ? src : src.subarray(0, first), tail);
    if (first < n) this.buf.set(src.subarray(first, n), 0);
    this.len += n;
    if (this.len > this.peak) this.peak = this.len;
    return n;
  }

  /** Release n octets from the head (they were acknowledged). Empty: the storage goes back. */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.len) n = this.len;
    this.len -= n;
    if (this.len === 0) {
      this.head = 0;
      this.release();
      return;
    }
    this.head += n;
    if (this.head >= this.buf.length) this.head -= this.buf.length;
  }

  /** Copy n octets starting `offset` octets after the head into dst[dstOff...]. */
  copyOut(offset: number, n: number, dst: Uint8Array, dstOff: number): void {
    if (offset < 0 || n < 0 || offset + n > this.len) {
      throw new RangeError(`copyOut(${offset}, ${n}) outside the ${this.len} queued octets`);
    }
    if (n === 0) return;
    const size = this.buf.length;
    let start = this.head + offset;
    if (start >= size) start -= size;
    const first = Math.min(n, size - start);
    dst.set(this.buf.subarray(start, start + first), dstOff);
    if (first < n) dst.set(this.buf.subarray(0, n - first), dstOff + first);
  }

  /** Change the capacity (SO_SNDBUF) keeping the queued octets; false if they do not fit. */
  resize(capacity: number): boolean {
    if (capacity < this.len || !(capacity > 0)) return false;
    this.cap = capacity;
    if (this.buf.length > capacity) this.reshape(capacity);
    return true;
  }

  /** Move the queued octets into new storage of `size` bytes (>= len), head at 0. */
  private reshape(size: number): void {
    const next = this.pool !== undefined ? this.pool.take(size) : new Uint8Array(size);
    this.copyOut(0, this.len, next, 0);
    if (this.buf.length > 0) this.pool?.give(this.buf);
    this.buf = next;
    this.head = 0;
  }

  /** Nothing queued: give the storage back; the next one is sized for this busy period's peak. */
  private release(): void {
    if (this.buf.length === 0) return;
    this.hint = storageSize(this.peak, 0, this.cap);
    this.peak = 0;
    this.pool?.give(this.buf);
    this.buf = EMPTY;
  }
}
