import { describe, expect, it } from 'vitest';
import { SendBuffer } from '../../src/tcp/send-buffer.js';

const seqBytes = (start: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

describe('SendBuffer (byte ring from SND.UNA)', () => {
  it('accepts what fits, copies ranges out, releases acknowledged octets', () => {
    const sb = new SendBuffer(10);
    expect(sb.write(seqBytes(0, 7))).toBe(7);
    expect(sb.write(seqBytes(7, 7))).toBe(3);
    expect([sb.length, sb.free]).toEqual([10, 0]);
    const out = new Uint8Array(4);
    sb.copyOut(3, 4, out, 0);
    expect([...out]).toEqual([3, 4, 5, 6]);
    sb.consume(6);
    expect([sb.length, sb.free]).toEqual([4, 6]);
    expect(sb.write(seqBytes(10, 6))).toBe(6);
    // The data wraps around the end of the ring now.
    const all = new Uint8Array(10);
    sb.copyOut(0, 10, all, 0);
    expect([...all]).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('stays consistent over many wrapped writes and partial ACKs', () => {
    const sb = new SendBuffer(97);
    let written = 0;
    let acked = 0;
    for (let i = 0; i < 2000; i++) {
      written += sb.write(seqBytes(written, (i * 13) % 50));
      const off = (i * 7) % Math.max(sb.length, 1);
      const n = Math.min(11, sb.length - off);
      if (n > 0) {
        const out = new Uint8Array(n);
        sb.copyOut(off, n, out, 0);
        expect([...out]).toEqual([...seqBytes(acked + off, n)]);
      }
      const a = (i * 5) % (sb.length + 1);
      sb.consume(a);
      acked += a;
      expect(sb.length).toBe(written - acked);
    }
  });

  it('copyOut outside the queued data throws (a caller bug, not input)', () => {
    const sb = new SendBuffer(8);
    sb.write(seqBytes(0, 4));
    expect(() => sb.copyOut(2, 3, new Uint8Array(3), 0)).toThrow(RangeError);
  });

  it('resize keeps queued data; refuses to drop any', () => {
    const sb = new SendBuffer(8);
    sb.write(seqBytes(0, 8));
    sb.consume(5);
    sb.write(seqBytes(8, 5));
    expect(sb.resize(4)).toBe(false);
    expect(sb.resize(16)).toBe(true);
    const out = new Uint8Array(8);
    sb.copyOut(0, 8, out, 0);
    expect([...out]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(sb.free).toBe(8);
  });
});
