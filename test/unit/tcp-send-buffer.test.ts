import { describe, expect, it } from 'vitest';
import { BufferPool, MIN_STORAGE, SendBuffer, storageSize } from '../../src/tcp/send-buffer.js';

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

  it('holds no storage until written; grows by doubling (or to the write size) up to the capacity', () => {
    const sb = new SendBuffer(100_000);
    expect([sb.storageBytes, sb.free, sb.capacity]).toEqual([0, 100_000, 100_000]);
    sb.write(seqBytes(0, 10));
    expect(sb.storageBytes).toBe(MIN_STORAGE);
    sb.write(seqBytes(10, 4086)); // exactly full
    expect(sb.storageBytes).toBe(MIN_STORAGE);
    sb.consume(1000); // head moves: the next write wraps, then grows (moving the bytes once)
    sb.write(seqBytes(4096, 2000));
    expect(sb.storageBytes).toBe(8192);
    sb.write(seqBytes(6096, 40_000)); // one large write: straight to 64 KiB
    expect(sb.storageBytes).toBe(65536);
    expect(sb.write(seqBytes(46_096, 100_000))).toBe(100_000 - 45_096);
    expect(sb.storageBytes).toBe(100_000); // the capacity, not a power of two
    const all = new Uint8Array(sb.length);
    sb.copyOut(0, all.length, all, 0);
    expect([...all]).toEqual([...seqBytes(1000, 100_000)]);
  });

  it('gives its storage back when everything is acknowledged; the next takes the last peak from the pool', () => {
    const pool = new BufferPool();
    const sb = new SendBuffer(256 * 1024, pool);
    sb.write(seqBytes(0, 20_000));
    expect(sb.storageBytes).toBe(32_768);
    sb.consume(19_999);
    expect(sb.storageBytes).toBe(32_768);
    sb.consume(1);
    expect([sb.storageBytes, pool.bytes]).toEqual([0, 32_768]);
    const reused = pool.reused;
    sb.write(seqBytes(0, 10));
    expect([sb.storageBytes, pool.bytes, pool.reused]).toEqual([32_768, 0, reused + 1]);
    const out = new Uint8Array(10);
    sb.copyOut(0, 10, out, 0);
    expect([...out]).toEqual([...seqBytes(0, 10)]);
  });

  it('once grown, writing, copying out and acknowledging full segments takes no new storage', () => {
    const pool = new BufferPool();
    const sb = new SendBuffer(256 * 1024, pool);
    const seg = seqBytes(0, 1460);
    const out = new Uint8Array(1460);
    const round = (): void => {
      for (let k = 0; k < 44; k++) sb.write(seg);
      for (let k = 0; k < 44; k++) sb.copyOut(k * 1460, 1460, out, 0);
      for (let k = 0; k < 44; k += 2) sb.consume(2920);
    };
    round();
    const fresh = pool.taken - pool.reused;
    for (let i = 0; i < 200; i++) round();
    expect(pool.taken - pool.reused).toBe(fresh);
  });

  it('resize below the storage moves the queued octets into smaller storage', () => {
    const sb = new SendBuffer(65536);
    sb.write(seqBytes(0, 40_000));
    sb.consume(39_000);
    expect(sb.storageBytes).toBe(65536);
    expect(sb.resize(5000)).toBe(true);
    expect([sb.storageBytes, sb.capacity, sb.free]).toEqual([5000, 5000, 4000]);
    const out = new Uint8Array(1000);
    sb.copyOut(0, 1000, out, 0);
    expect([...out]).toEqual([...seqBytes(39_000, 1000)]);
  });
});

describe('BufferPool and storage sizes', () => {
  it('storageSize: powers of two from 4 KiB (or the hint), capped by the capacity', () => {
    expect(storageSize(1, 0, 1 << 20)).toBe(4096);
    expect(storageSize(4097, 0, 1 << 20)).toBe(8192);
    expect(storageSize(100, 65536, 1 << 20)).toBe(65536);
    expect(storageSize(70_000, 0, 100_000)).toBe(100_000);
    expect(storageSize(10, 0, 1000)).toBe(1000);
  });

  it('keeps whole power-of-two arrays within its bounds and hands them out again', () => {
    const pool = new BufferPool(64 * 1024); // a quarter (16 KiB) per size
    const given = [pool.take(4096), new Uint8Array(4096), new Uint8Array(4096), new Uint8Array(4096)];
    expect(given[0]!.length).toBe(4096);
    for (const b of given) pool.give(b);
    pool.give(new Uint8Array(4096)); // a fifth 4 KiB array exceeds the 16 KiB per size
    expect(pool.bytes).toBe(16_384);
    pool.give(new Uint8Array(5000)); // not a pooled size
    pool.give(new Uint8Array(8192).subarray(0, 4096)); // a view, not a whole array
    expect(pool.bytes).toBe(16_384);
    const reused = pool.reused;
    const back = [pool.take(4096), pool.take(4096), pool.take(4096)];
    for (const b of back) expect(given).toContain(b);
    expect([pool.bytes, pool.reused]).toEqual([4096, reused + 3]);
    pool.give(new Uint8Array(65536)); // one large array may exceed the quarter, not the total
    expect(pool.bytes).toBe(4096);
    const big = new BufferPool(1 << 20);
    big.give(new Uint8Array(512 * 1024));
    expect(big.bytes).toBe(512 * 1024);
    expect(big.take(512 * 1024).length).toBe(512 * 1024);
    expect(big.bytes).toBe(0);
  });
});
