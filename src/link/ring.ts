/**
 * FrameRing: a single-producer single-consumer ring of frames in a SharedArrayBuffer (or,
 * with `shared: false`, a plain ArrayBuffer).
 *
 * The TAP addon (native/tap.cc) is the producer of the RX ring and the consumer of the
 * TX ring; TapLink is the other side of each. The same class is usable from pure JS on
 * both sides (tests, a future worker-thread split), and the native code agrees with
 * this layout byte for byte (the addon exports its own constants and the TAP test
 * checks them against RingLayout).
 *
 * Layout (u32 fields in host byte order, offsets in bytes):
 *
 *     0  MAGIC        0x474e5246 ("FRNG" in memory on little-endian hosts)
 *     4  VERSION      1
 *     8  SLOT_COUNT   number of slots, a power of two
 *    12  SLOT_SIZE    bytes per slot including its 4-byte length word; multiple of 8
 *    64  HEAD         producer counter: frames ever published, mod 2^32 (producer writes)
 *    68  FULL         pushes rejected because the ring was full (producer writes)
 *    72  OVERSIZE     pushes rejected because the frame exceeded the slot (producer writes)
 *   128  TAIL         consumer counter: frames ever released, mod 2^32 (consumer writes)
 *   192  slot 0, slot 1, ... slot i at 192 + i * SLOT_SIZE: [u32 len][len frame bytes][unused]
 *
 * HEAD and TAIL live on separate cache lines. used = (HEAD - TAIL) mod 2^32, in
 * [0, SLOT_COUNT]; slot index = counter & (SLOT_COUNT - 1). The producer writes the slot,
 * then publishes it with a release store of HEAD; the consumer reads HEAD with an
 * acquire load, reads the slot, then releases it with a store of TAIL (JS Atomics are
 * sequentially consistent, which is stronger than both).
 *
 * Shared or not: V8 copies to and from SharedArrayBuffer memory with a relaxed-atomic
 * byte loop (`relaxed_memmove`), measured ~13x slower than a plain memcpy (3.3 vs 44 GB/s
 * for 1448-byte copies on this project's machine). A ring that only one thread touches
 * (TapLink's: the native side runs on the same event loop) is therefore a plain
 * ArrayBuffer; Atomics work on both, so the layout and protocol are the same.
 *
 * A slot's data area is SLOT_SIZE - 4 bytes. It holds whatever the fd yields for one
 * frame, so with IFF_VNET_HDR it is virtio_net_hdr + frame, up to a 64 KB GSO
 * super-frame when the slot size allows it (see TAP_SLOT_SIZE_GSO in tap.ts).
 */
import { StackError } from '../core/errno.js';

export const RingLayout = {
  MAGIC: 0x474e5246,
  VERSION: 1,
  OFF_MAGIC: 0,
  OFF_VERSION: 4,
  OFF_SLOT_COUNT: 8,
  OFF_SLOT_SIZE: 12,
  OFF_HEAD: 64,
  OFF_FULL: 68,
  OFF_OVERSIZE: 72,
  OFF_TAIL: 128,
  HEADER_BYTES: 192,
  /** Bytes of the per-slot length word in front of the frame. */
  LEN_BYTES: 4,
  /** Slot sizes must be a multiple of this (keeps the length words aligned). */
  SLOT_ALIGN: 8,
  /** Upper bounds that keep a ring allocation sane (2^16 slots, 1 MiB slots, 1 GiB total). */
  MAX_SLOTS: 65536,
  MAX_SLOT_SIZE: 1 << 20,
  MAX_BYTES: 1 << 30,
} as const;

// u32 word indices of the header fields.
const W_MAGIC = RingLayout.OFF_MAGIC >> 2;
const W_VERSION = RingLayout.OFF_VERSION >> 2;
const W_SLOT_COUNT = RingLayout.OFF_SLOT_COUNT >> 2;
const W_SLOT_SIZE = RingLayout.OFF_SLOT_SIZE >> 2;
const W_HEAD = RingLayout.OFF_HEAD >> 2;
const W_FULL = RingLayout.OFF_FULL >> 2;
const W_OVERSIZE = RingLayout.OFF_OVERSIZE >> 2;
const W_TAIL = RingLayout.OFF_TAIL >> 2;
const HEADER = RingLayout.HEADER_BYTES;
const LEN = RingLayout.LEN_BYTES;

export interface FrameRingOptions {
  /** Number of slots; a power of two in [1, 65536]. */
  slots: number;
  /** Bytes per slot including the 4-byte length word; multiple of 8, >= 16. */
  slotSize: number;
  /** Initial HEAD/TAIL counter (tests use it to cross the 2^32 wrap). Default 0. */
  start?: number;
  /**
   * Allocate a SharedArrayBuffer (default true: another thread may attach()). False: a
   * plain ArrayBuffer, for rings one thread uses; copies in and out are much faster.
   */
  shared?: boolean;
}

export class FrameRing {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  /** The whole ring (header + slots); this is what the native side maps. */
  readonly bytes: Uint8Array;
  readonly slotCount: number;
  readonly slotSize: number;
  /** Largest frame a slot holds: slotSize - 4. */
  readonly frameCapacity: number;
  private readonly words: Uint32Array;
  private readonly mask: number;
  /** Producer's slot handed out by reserve() and not yet committed, or -1. */
  private reservedOff = -1;

  private constructor(buffer: SharedArrayBuffer | ArrayBuffer, slotCount: number, slotSize: number) {
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.words = new Uint32Array(buffer);
    this.slotCount = slotCount;
    this.slotSize = slotSize;
    this.frameCapacity = slotSize - LEN;
    this.mask = slotCount - 1;
  }

  /** Bytes of SharedArrayBuffer a ring of this geometry needs. */
  static byteLength(slots: number, slotSize: number): number {
    return HEADER + slots * slotSize;
  }

  /** Allocate and initialise a ring. Throws StackError(EINVAL) on a bad geometry. */
  static create(opts: FrameRingOptions): FrameRing {
    const err = checkGeometry(opts.slots, opts.slotSize);
    if (err !== undefined) throw new StackError('EINVAL', err);
    const bytes = FrameRing.byteLength(opts.slots, opts.slotSize);
    const buffer = opts.shared === false ? new ArrayBuffer(bytes) : new SharedArrayBuffer(bytes);
    const w = new Uint32Array(buffer);
    w[W_MAGIC] = RingLayout.MAGIC;
    w[W_VERSION] = RingLayout.VERSION;
    w[W_SLOT_COUNT] = opts.slots;
    w[W_SLOT_SIZE] = opts.slotSize;
    const start = (opts.start ?? 0) >>> 0;
    w[W_HEAD] = start;
    w[W_TAIL] = start;
    return new FrameRing(buffer, opts.slots, opts.slotSize);
  }

  /** Attach to a ring created elsewhere (another thread); validates the header. */
  static attach(buffer: SharedArrayBuffer | ArrayBuffer): FrameRing {
    if (buffer.byteLength < HEADER) throw new StackError('EINVAL', `ring buffer of ${buffer.byteLength} bytes is smaller than its header`);
    const w = new Uint32Array(buffer, 0, HEADER >> 2);
    if (w[W_MAGIC] !== RingLayout.MAGIC || w[W_VERSION] !== RingLayout.VERSION) {
      throw new StackError('EINVAL', 'not a FrameRing (bad magic or version)');
    }
    const slots = w[W_SLOT_COUNT]!;
    const slotSize = w[W_SLOT_SIZE]!;
    const err = checkGeometry(slots, slotSize);
    if (err !== undefined) throw new StackError('EINVAL', err);
    if (buffer.byteLength < FrameRing.byteLength(slots, slotSize)) {
      throw new StackError('EINVAL', `ring buffer of ${buffer.byteLength} bytes is too small for ${slots} x ${slotSize}`);
    }
    return new FrameRing(buffer, slots, slotSize);
  }

  // ---- shared state -------------------------------------------------------------------

  /** Producer counter (frames ever published, mod 2^32). */
  get head(): number {
    return Atomics.load(this.words, W_HEAD);
  }

  /** Consumer counter (frames ever released, mod 2^32). */
  get tail(): number {
    return Atomics.load(this.words, W_TAIL);
  }

  /** Frames published and not yet released. */
  size(): number {
    return (Atomics.load(this.words, W_HEAD) - Atomics.load(this.words, W_TAIL)) >>> 0;
  }

  /** Free slots. */
  free(): number {
    return this.slotCount - this.size();
  }

  isEmpty(): boolean {
    return this.size() === 0;
  }

  isFull(): boolean {
    return this.size() >= this.slotCount;
  }

  /** Pushes rejected because the ring was full (counted by whichever side produces). */
  get fullCount(): number {
    return Atomics.load(this.words, W_FULL);
  }

  /** Pushes rejected because the frame was larger than frameCapacity. */
  get oversizeCount(): number {
    return Atomics.load(this.words, W_OVERSIZE);
  }

  // ---- producer side ------------------------------------------------------------------

  /**
   * Copy one frame into the next slot and publish it. Returns false, and counts it in
   * fullCount or oversizeCount, when the ring is full or the frame does not fit.
   */
  push(frame: Uint8Array): boolean {
    const len = frame.length;
    if (len > this.frameCapacity) {
      Atomics.add(this.words, W_OVERSIZE, 1);
      return false;
    }
    const head = Atomics.load(this.words, W_HEAD);
    if (((head - Atomics.load(this.words, W_TAIL)) >>> 0) >= this.slotCount) {
      Atomics.add(this.words, W_FULL, 1);
      return false;
    }
    const off = HEADER + (head & this.mask) * this.slotSize;
    // The slot may be one reserve() handed out: this frame takes it, the reservation is void.
    this.reservedOff = -1;
    this.words[off >> 2] = len;
    this.bytes.set(frame, off + LEN);
    Atomics.store(this.words, W_HEAD, (head + 1) >>> 0);
    return true;
  }

  /**
   * Zero-copy producer: the data area (frameCapacity bytes) of the next free slot, to be
   * filled in place and published with commit(len). Undefined (counted as full) when the
   * ring is full. Calling reserve() again before commit() returns the same slot.
   */
  reserve(): Uint8Array | undefined {
    const head = Atomics.load(this.words, W_HEAD);
    if (((head - Atomics.load(this.words, W_TAIL)) >>> 0) >= this.slotCount) {
      Atomics.add(this.words, W_FULL, 1);
      return undefined;
    }
    const off = HEADER + (head & this.mask) * this.slotSize;
    this.reservedOff = off;
    return this.bytes.subarray(off + LEN, off + this.slotSize);
  }

  /**
   * reserve() without the view: the index of the next free slot (its data area starts at
   * byte `dataOffset(index)` of `bytes`), or -1 when the ring is full. Not counted as full:
   * the caller decides whether a frame is lost. Calling it again before commit() (or a
   * push(), which takes the slot) returns the same index.
   */
  reserveIndex(): number {
    const head = Atomics.load(this.words, W_HEAD);
    if (((head - Atomics.load(this.words, W_TAIL)) >>> 0) >= this.slotCount) return -1;
    const index = head & this.mask;
    this.reservedOff = HEADER + index * this.slotSize;
    return index;
  }

  /** Whether a slot handed out by reserve()/reserveIndex() waits for commit(). */
  get reserved(): boolean {
    return this.reservedOff >= 0;
  }

  /** Byte offset in `bytes` of slot `index`'s data area (after its length word). */
  dataOffset(index: number): number {
    return HEADER + (index & this.mask) * this.slotSize + LEN;
  }

  /**
   * Publish the slot returned by reserve() holding `len` bytes. Returns false (nothing
   * published) when there is no reservation or len is out of range (counted as oversize).
   */
  commit(len: number): boolean {
    const off = this.reservedOff;
    if (off < 0) return false;
    this.reservedOff = -1;
    if (!(len >= 0 && len <= this.frameCapacity) || len !== Math.floor(len)) {
      Atomics.add(this.words, W_OVERSIZE, 1);
      return false;
    }
    this.words[off >> 2] = len;
    Atomics.store(this.words, W_HEAD, (Atomics.load(this.words, W_HEAD) + 1) >>> 0);
    return true;
  }

  // ---- consumer side ------------------------------------------------------------------

  /** The oldest published frame (a view into its slot), or undefined when empty. */
  peek(): Uint8Array | undefined {
    const tail = Atomics.load(this.words, W_TAIL);
    if (tail === Atomics.load(this.words, W_HEAD)) return undefined;
    const off = HEADER + (tail & this.mask) * this.slotSize;
    return this.bytes.subarray(off + LEN, off + LEN + this.slotLen(off));
  }

  /** Release the oldest frame (after peek). No-op when empty. */
  release(): void {
    const tail = Atomics.load(this.words, W_TAIL);
    if (tail === Atomics.load(this.words, W_HEAD)) return;
    Atomics.store(this.words, W_TAIL, (tail + 1) >>> 0);
  }

  /**
   * Hand up to `max` published frames, oldest first, to `visit` (each a view into its
   * slot, valid only during the call), then release them. Returns the number visited.
   * If `visit` throws, the frames visited so far (including the throwing one) are
   * released before the exception propagates, so a poison frame is not seen twice.
   */
  drain(visit: (frame: Uint8Array) => void, max = 0xffffffff): number {
    const head = Atomics.load(this.words, W_HEAD);
    const start = Atomics.load(this.words, W_TAIL);
    let tail = start;
    try {
      while (tail !== head && ((tail - start) >>> 0) < max) {
        const off = HEADER + (tail & this.mask) * this.slotSize;
        tail = (tail + 1) >>> 0;
        visit(this.bytes.subarray(off + LEN, off + LEN + this.slotLen(off)));
      }
    } finally {
      Atomics.store(this.words, W_TAIL, tail);
    }
    return (tail - start) >>> 0;
  }

  /** A slot's length word, clamped to the slot (the other side may be native code). */
  private slotLen(off: number): number {
    const len = this.words[off >> 2]!;
    return len <= this.frameCapacity ? len : this.frameCapacity;
  }
}

function checkGeometry(slots: number, slotSize: number): string | undefined {
  if (!Number.isInteger(slots) || slots < 1 || slots > RingLayout.MAX_SLOTS || (slots & (slots - 1)) !== 0) {
    return `ring slot count ${slots} must be a power of two in [1, ${RingLayout.MAX_SLOTS}]`;
  }
  if (!Number.isInteger(slotSize) || slotSize < 16 || slotSize > RingLayout.MAX_SLOT_SIZE || slotSize % RingLayout.SLOT_ALIGN !== 0) {
    return `ring slot size ${slotSize} must be a multiple of ${RingLayout.SLOT_ALIGN} in [16, ${RingLayout.MAX_SLOT_SIZE}]`;
  }
  if (FrameRing.byteLength(slots, slotSize) > RingLayout.MAX_BYTES) {
    return `ring of ${slots} x ${slotSize} bytes exceeds ${RingLayout.MAX_BYTES} bytes`;
  }
  return undefined;
}
