/**
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4).
 * A Seq is a branded unsigned 32-bit number; compare only with these helpers, never with `<`.
 */
export type Seq = number & { readonly __brand: 'Seq' };

export function seq(n: number): Seq {
  return (n >>> 0) as Seq;
}

export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/** Signed distance b - a, in (-2^31, 2^31]. */
export function seqDiff(b: Seq, a: Seq): number {
  return (b - a) | 0;
}

export function seqLt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: Seq, b: Seq): Seq {
  return seqGt(a, b) ? a : b;
}

export function seqMin(a: Seq, b: Seq): Seq {
  return seqLt(a, b) ? a : b;
}

/** lo <= x < hi, modulo 2^32. */
export function seqInRange(x: Seq, lo: Seq, hi: Seq): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
