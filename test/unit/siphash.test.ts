import { describe, expect, it } from 'vitest';
import { SipHash } from '../../src/core/siphash.js';
import { SeededRng } from '../../src/core/rng.js';

// Reference vectors of SipHash-2-4 (64-bit output) from the reference implementation
// (veorq/SipHash vectors.h, also in the paper's appendix for the 15-byte message):
// key = 00 01 02 ... 0f, message i = 00 01 ... (i-1), for i = 0..63.
const VECTORS: readonly bigint[] = [
  0x726fdb47dd0e0e31n, 0x74f839c593dc67fdn, 0x0d6c8009d9a94f5an, 0x85676696d7fb7e2dn,
  0xcf2794e0277187b7n, 0x18765564cd99a68dn, 0xcbc9466e58fee3cen, 0xab0200f58b01d137n,
  0x93f5f5799a932462n, 0x9e0082df0ba9e4b0n, 0x7a5dbbc594ddb9f3n, 0xf4b32f46226bada7n,
  0x751e8fbc860ee5fbn, 0x14ea5627c0843d90n, 0xf723ca908e7af2een, 0xa129ca6149be45e5n,
  0x3f2acc7f57c29bdbn, 0x699ae9f52cbe4794n, 0x4bc1b3f0968dd39cn, 0xbb6dc91da77961bdn,
  0xbed65cf21aa2ee98n, 0xd0f2cbb02e3b67c7n, 0x93536795e3a33e88n, 0xa80c038ccd5ccec8n,
  0xb8ad50c6f649af94n, 0xbce192de8a85b8ean, 0x17d835b85bbb15f3n, 0x2f2e6163076bcfadn,
  0xde4daaaca71dc9a5n, 0xa6a2506687956571n, 0xad87a3535c49ef28n, 0x32d892fad841c342n,
  0x7127512f72f27ccen, 0xa7f32346f95978e3n, 0x12e0b01abb051238n, 0x15e034d40fa197aen,
  0x314dffbe0815a3b4n, 0x027990f029623981n, 0xcadcd4e59ef40c4dn, 0x9abfd8766a33735cn,
  0x0e3ea96b5304a7d0n, 0xad0c42d6fc585992n, 0x187306c89bc215a9n, 0xd4a60abcf3792b95n,
  0xf935451de4f21df2n, 0xa9538f0419755787n, 0xdb9acddff56ca510n, 0xd06c98cd5c0975ebn,
  0xe612a3cb9ecba951n, 0xc766e62cfcadaf96n, 0xee64435a9752fe72n, 0xa192d576b245165an,
  0x0a8787bf8ecb74b2n, 0x81b3e73d20b49b6fn, 0x7fa8220ba3b2ecean, 0x245731c13ca42499n,
  0xb78dbfaf3a8d83bdn, 0xea1ad565322a1a0bn, 0x60e61c23a3795013n, 0x6606d7e446282b93n,
  0x6ca4ecb15c5f91e1n, 0x9f626da15c9625f3n, 0xe51b38608ef25f57n, 0x958a324ceb064572n,
];

function iota(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i;
  return b;
}

function leBytes(words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return b;
}

describe('SipHash-2-4', () => {
  const h = new SipHash(iota(16));

  it('matches all 64 reference vectors (key 00..0f, message 00..i-1)', () => {
    expect(VECTORS.length).toBe(64);
    for (let i = 0; i < 64; i++) expect(h.hash64(iota(i)), `length ${i}`).toBe(VECTORS[i]);
  });

  it('matches the paper example (15-byte message) and splits the result into low/high', () => {
    const lo = h.hash(iota(15));
    expect(lo).toBe(0x49be45e5);
    expect(h.high).toBe(0xa129ca61);
  });

  it('a key given as four little-endian words equals the same key as bytes', () => {
    const w = new SipHash([0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]);
    expect(w.hash64(iota(8))).toBe(VECTORS[8]);
  });

  it('hash3u32 / hash4u32 equal hashing the words as little-endian bytes', () => {
    const rng = new SeededRng(7);
    const k = SipHash.random(rng);
    for (let i = 0; i < 200; i++) {
      const a = rng.nextU32(), b = rng.nextU32(), c = rng.nextU32(), d = rng.nextU32();
      const lo3 = k.hash3u32(a, b, c);
      const hi3 = k.high;
      expect(k.hash64(leBytes([a, b, c]))).toBe((BigInt(hi3) << 32n) | BigInt(lo3));
      const lo4 = k.hash4u32(a, b, c, d);
      const hi4 = k.high;
      expect(k.hash64(leBytes([a, b, c, d]))).toBe((BigInt(hi4) << 32n) | BigInt(lo4));
    }
    // And the vector: words 0x03020100, 0x07060504, 0x0b0a0908 are bytes 00..0b.
    const lo = h.hash3u32(0x03020100, 0x07060504, 0x0b0a0908);
    expect((BigInt(h.high) << 32n) | BigInt(lo)).toBe(VECTORS[12]);
    const lo16 = h.hash4u32(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c);
    expect((BigInt(h.high) << 32n) | BigInt(lo16)).toBe(VECTORS[16]);
  });

  it('results depend on the key and on every input word', () => {
    const a = SipHash.random(new SeededRng(1));
    const b = SipHash.random(new SeededRng(2));
    expect(a.hash3u32(1, 2, 3)).not.toBe(b.hash3u32(1, 2, 3));
    const base = a.hash3u32(1, 2, 3);
    expect(a.hash3u32(1, 2, 3)).toBe(base);
    expect(a.hash3u32(0, 2, 3)).not.toBe(base);
    expect(a.hash3u32(1, 0, 3)).not.toBe(base);
    expect(a.hash3u32(1, 2, 0)).not.toBe(base);
  });

  it('rejects a key of the wrong length', () => {
    expect(() => new SipHash(new Uint8Array(15))).toThrow(RangeError);
  });
});
