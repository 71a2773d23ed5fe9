import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import {
  addAtOffset,
  checksum,
  finish,
  finishChecksum,
  fold,
  internetSum,
  pseudoHeaderSum,
  swap16,
  updateChecksum16,
} from '../../src/ip/checksum.js';

/** Byte-at-a-time reference: RFC 1071 section 4.1, with a zero pad byte for odd lengths. */
function reference(b: Uint8Array, off = 0, len = b.length - off): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += (i & 1) === 0 ? b[off + i]! << 8 : b[off + i]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

describe('Internet checksum', () => {
  it('matches the RFC 1071 section 3 example', () => {
    // 0001 + f203 + f4f5 + f6f7 = 2ddf0 -> ddf0 + 2 = ddf2; checksum field = ~ddf2 = 220d.
    const b = hex('0001f203f4f5f6f7');
    expect(checksum(b)).toBe(0xddf2);
    expect(finish(checksum(b))).toBe(0x220d);
    // Byte-order independence (RFC 1071 2(B)): the swapped input sums to the swapped sum.
    expect(checksum(hex('0100 03f2 f5f4 f7f6'))).toBe(0xf2dd);
  });

  it('computes a known IPv4 header checksum and verifies it to 0xffff', () => {
    const h = hex('45000073000040004011 0000 c0a80001c0a800c7');
    expect(finish(checksum(h))).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(checksum(h)).toBe(0xffff);
  });

  it('handles empty, one-byte and odd-length input', () => {
    expect(checksum(new Uint8Array(0))).toBe(0);
    expect(checksum(new Uint8Array([0xab]))).toBe(0xab00);
    expect(checksum(new Uint8Array([0x12, 0x34, 0x56]))).toBe(0x1234 + 0x5600);
    expect(checksum(new Uint8Array(0), 0x1234)).toBe(0x1234);
  });

  it('equals the byte-by-byte reference on random inputs, lengths, offsets and misaligned views', () => {
    const rng = new SeededRng(1071);
    for (let t = 0; t < 3000; t++) {
      const size = t < 2000 ? rng.nextInt(0, 300) : rng.nextInt(0, 70000);
      const backing = new Uint8Array(size + 16);
      for (let i = 0; i < backing.length; i++) backing[i] = rng.nextU32() & 0xff;
      // All-ones runs exercise carries.
      if (t % 7 === 0) backing.fill(0xff);
      const view = backing.subarray(rng.nextInt(0, 8));
      const off = rng.nextInt(0, 8);
      const len = Math.max(0, Math.min(size, view.length - off));
      const want = reference(view, off, len);
      expect(checksum(view, 0, off, len), `t=${t} size=${len} off=${off} byteOffset=${view.byteOffset}`).toBe(want);
    }
  });

  it('combines partial sums: even splits chain through initial, odd splits use addAtOffset', () => {
    const rng = new SeededRng(7);
    for (let t = 0; t < 500; t++) {
      const b = new Uint8Array(rng.nextInt(2, 2000));
      for (let i = 0; i < b.length; i++) b[i] = rng.nextU32() & 0xff;
      const whole = reference(b);
      const cut = rng.nextInt(0, b.length);
      const a = checksum(b, 0, 0, cut);
      const rest = checksum(b, 0, cut);
      expect(addAtOffset(a, rest, cut)).toBe(whole);
      if ((cut & 1) === 0) expect(checksum(b, a, cut)).toBe(whole);
    }
  });

  it('aliases and fold behave', () => {
    expect(internetSum).toBe(checksum);
    expect(finishChecksum).toBe(finish);
    expect(fold(0x1ffff)).toBe(0x0001);
    expect(fold(0xffff)).toBe(0xffff);
    expect(fold(0x3_0000_0005)).toBe(0x0008);
    expect(swap16(0x1234)).toBe(0x3412);
  });

  it('sums the pseudo-header like the byte layout it stands for', () => {
    const src = 0x0a4d0002;
    const dst = 0xc0a80107;
    const bytes = hex('0a4d0002 c0a80107 0011 05dc');
    expect(pseudoHeaderSum(src, dst, 17, 1500)).toBe(reference(bytes));
    // A UDP datagram's checksum over pseudo-header + header + data verifies to 0xffff.
    const udp = hex('1234 0035 000c 0000 deadbeef');
    const sum = checksum(udp, pseudoHeaderSum(src, dst, 17, udp.length));
    udp[6] = finish(sum) >>> 8;
    udp[7] = finish(sum) & 0xff;
    expect(checksum(udp, pseudoHeaderSum(src, dst, 17, udp.length))).toBe(0xffff);
  });

  it('updates incrementally like a full recomputation (RFC 1624), e.g. a TTL decrement', () => {
    const rng = new SeededRng(1624);
    for (let t = 0; t < 2000; t++) {
      const h = new Uint8Array(20);
      for (let i = 0; i < 20; i++) h[i] = rng.nextU32() & 0xff;
      h[10] = 0;
      h[11] = 0;
      const c = finish(checksum(h));
      const w = rng.nextInt(0, 10) * 2;
      if (w === 10) continue;
      const oldWord = (h[w]! << 8) | h[w + 1]!;
      const newWord = rng.nextU32() & 0xffff;
      h[w] = newWord >>> 8;
      h[w + 1] = newWord & 0xff;
      const updated = updateChecksum16(c, oldWord, newWord);
      // Both must verify; the incremental form never yields the -0 (0x0000 vs 0xffff) ambiguity wrongly.
      h[10] = updated >>> 8;
      h[11] = updated & 0xff;
      expect(checksum(h)).toBe(0xffff);
    }
  });
});
