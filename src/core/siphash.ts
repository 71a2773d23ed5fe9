/**
 * SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
 * pseudo-random function with a 128-bit key and a 64-bit output. The stack uses it where an
 * attacker must not predict or forge a value: initial sequence numbers (RFC 6528) and SYN
 * cookies (RFC 4987), as Linux does (`secure_tcp_seq`, `cookie_hash` use siphash).
 *
 * JavaScript has no fast 64-bit integers, so every 64-bit lane is kept as two unsigned 32-bit
 * halves (lo, hi). The hot entry points (`hash3u32`, `hash4u32`) take their input as 32-bit
 * words and allocate nothing; `hash()` takes bytes. Hashing words w0, w1, ... is exactly
 * SipHash of the byte string w0 (little-endian), w1 (little-endian), ... — so the word API is
 * covered by the reference test vectors through the byte API.
 *
 * Results: the functions return the low 32 bits of the 64-bit output; the high 32 bits of the
 * most recent result are in `high` (`hash64()` returns the whole value as a bigint, for tests).
 */
import type { Rng } from './rng.js';

export class SipHash {
  // Key k0 = (k0h:k0l), k1 = (k1h:k1l), as little-endian 64-bit words of the 16 key bytes.
  private readonly k0l: number;
  private readonly k0h: number;
  private readonly k1l: number;
  private readonly k1h: number;
  // State v0..v3, each as (hi, lo) halves. Fields, not locals, so the rounds need no closure.
  private v0l = 0;
  private v0h = 0;
  private v1l = 0;
  private v1h = 0;
  private v2l = 0;
  private v2h = 0;
  private v3l = 0;
  private v3h = 0;
  /** High 32 bits of the most recent 64-bit result. */
  high = 0;

  /** `key`: 16 bytes, or four 32-bit words (the little-endian words of those 16 bytes). */
  constructor(key: Uint8Array | readonly [number, number, number, number]) {
    let w: readonly number[];
    if (key instanceof Uint8Array) {
      if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
      w = [le32(key, 0), le32(key, 4), le32(key, 8), le32(key, 12)];
    } else {
      w = key;
    }
    this.k0l = w[0]! >>> 0;
    this.k0h = w[1]! >>> 0;
    this.k1l = w[2]! >>> 0;
    this.k1h = w[3]! >>> 0;
  }

  /** A SipHash with a fresh random 128-bit key from `rng`. */
  static random(rng: Rng): SipHash {
    return new SipHash([rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32()]);
  }

  /** SipHash-2-4 of the bytes; returns the low 32 bits (high 32 bits in `high`). */
  hash(data: Uint8Array): number {
    this.init();
    const len = data.length;
    const end = len - (len % 8);
    for (let i = 0; i < end; i += 8) this.block(le32(data, i), le32(data, i + 4));
    // Final block: the remaining 0..7 bytes, and the message length mod 256 in the top byte.
    let ml = 0;
    let mh = (len & 0xff) << 24;
    const rem = len - end;
    for (let j = 0; j < rem; j++) {
      const b = data[end + j]!;
      if (j < 4) ml |= b << (8 * j);
      else mh |= b << (8 * (j - 4));
    }
    this.block(ml >>> 0, mh >>> 0);
    return this.finish();
  }

  /** The full 64-bit SipHash-2-4 of the bytes (convenience for tests; allocates a bigint). */
  hash64(data: Uint8Array): bigint {
    const lo = this.hash(data);
    return (BigInt(this.high) << 32n) | BigInt(lo);
  }

  /** SipHash of the 12-byte message a, b, c (each little-endian). Low 32 bits; no allocation. */
  hash3u32(a: number, b: number, c: number): number {
    this.init();
    this.block(a >>> 0, b >>> 0);
    this.block(c >>> 0, (12 << 24) >>> 0);
    return this.finish();
  }

  /** SipHash of the 16-byte message a, b, c, d (each little-endian). Low 32 bits; no allocation. */
  hash4u32(a: number, b: number, c: number, d: number): number {
    this.init();
    this.block(a >>> 0, b >>> 0);
    this.block(c >>> 0, d >>> 0);
    this.block(0, (16 << 24) >>> 0);
    return this.finish();
  }

  private init(): void {
    // v0 = k0 ^ "somepseudorandomlygeneratedbytes" (the paper's constants, section 2).
    this.v0l = (this.k0l ^ 0x70736575) >>> 0;
    this.v0h = (this.k0h ^ 0x736f6d65) >>> 0;
    this.v1l = (this.k1l ^ 0x6e646f6d) >>> 0;
    this.v1h = (this.k1h ^ 0x646f7261) >>> 0;
    this.v2l = (this.k0l ^ 0x6e657261) >>> 0;
    this.v2h = (this.k0h ^ 0x6c796765) >>> 0;
    this.v3l = (this.k1l ^ 0x79746573) >>> 0;
    this.v3h = (this.k1h ^ 0x74656462) >>> 0;
  }

  /** Compression of one 64-bit message word m: v3 ^= m; c = 2 SipRounds; v0 ^= m. */
  private block(ml: number, mh: number): void {
    this.v3l = (this.v3l ^ ml) >>> 0;
    this.v3h = (this.v3h ^ mh) >>> 0;
    this.round();
    this.round();
    this.v0l = (this.v0l ^ ml) >>> 0;
    this.v0h = (this.v0h ^ mh) >>> 0;
  }

  /** Finalization: v2 ^= 0xff; d = 4 SipRounds; return v0 ^ v1 ^ v2 ^ v3. */
  private finish(): number {
    this.v2l = (this.v2l ^ 0xff) >>> 0;
    this.round();
    this.round();
    this.round();
    this.round();
    this.high = (this.v0h ^ this.v1h ^ this.v2h ^ this.v3h) >>> 0;
    return (this.v0l ^ this.v1l ^ this.v2l ^ this.v3l) >>> 0;
  }

  /**
   * One SipRound:
   *   v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32;
   *   v2 += v3; v3 <<<= 16; v3 ^= v2;
   *   v0 += v3; v3 <<<= 21; v3 ^= v0;
   *   v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32;
   * 64-bit additions carry from lo into hi; rotating by 32 swaps the halves.
   */
  private round(): void {
    let v0l = this.v0l, v0h = this.v0h, v1l = this.v1l, v1h = this.v1h;
    let v2l = this.v2l, v2h = this.v2h, v3l = this.v3l, v3h = this.v3h;
    let l: number, h: number, t: number;

    // v0 += v1
    l = (v0l + v1l) >>> 0;
    v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
    v0l = l;
    // v1 <<<= 13
    t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
    v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
    v1h = t;
    // v1 ^= v0
    v1l = (v1l ^ v0l) >>> 0;
    v1h = (v1h ^ v0h) >>> 0;
    // v0 <<<= 32
    t = v0l;
    v0l = v0h;
    v0h = t;

    // v2 += v3
    l = (v2l + v3l) >>> 0;
    v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
    v2l = l;
    // v3 <<<= 16
    t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
    v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
    v3h = t;
    // v3 ^= v2
    v3l = (v3l ^ v2l) >>> 0;
    v3h = (v3h ^ v2h) >>> 0;

    // v0 += v3
    l = (v0l + v3l) >>> 0;
    v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
    v0l = l;
    // v3 <<<= 21
    t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
    v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
    v3h = t;
    // v3 ^= v0
    v3l = (v3l ^ v0l) >>> 0;
    v3h = (v3h ^ v0h) >>> 0;

    // v2 += v1
    l = (v2l + v1l) >>> 0;
    h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
    v2l = l;
    v2h = h;
    // v1 <<<= 17
    t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
    v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
    v1h = t;
    // v1 ^= v2
    v1l = (v1l ^ v2l) >>> 0;
    v1h = (v1h ^ v2h) >>> 0;
    // v2 <<<= 32
    t = v2l;
    v2l = v2h;
    v2h = t;

    this.v0l = v0l;
    this.v0h = v0h;
    this.v1l = v1l;
    this.v1h = v1h;
    this.v2l = v2l;
    this.v2h = v2h;
    this.v3l = v3l;
    this.v3h = v3h;
  }
}

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}
