import { describe, expect, it } from 'vitest';
import { isStackError } from '../../src/core/errno.js';
import { FrameRing, RingLayout } from '../../src/link/ring.js';

function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seed * 31 + i * 7) & 0xff;
  return f;
}

function drainAll(ring: FrameRing): Uint8Array[] {
  const out: Uint8Array[] = [];
  ring.drain((f) => out.push(f.slice()));
  return out;
}

describe('FrameRing layout', () => {
  it('writes the documented header, byte for byte', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64 });
    expect(ring.buffer.byteLength).toBe(192 + 4 * 64);
    const dv = new DataView(ring.buffer);
    const le = true; // host order; every Linux target we build for is little-endian
    expect(dv.getUint32(0, le)).toBe(0x474e5246);
    expect([...ring.bytes.subarray(0, 4)]).toEqual([0x46, 0x52, 0x4e, 0x47]); // "FRNG"
    expect(dv.getUint32(4, le)).toBe(1);
    expect(dv.getUint32(8, le)).toBe(4);
    expect(dv.getUint32(12, le)).toBe(64);

    expect(ring.push(Uint8Array.of(0xaa, 0xbb, 0xcc))).toBe(true);
    expect(ring.push(Uint8Array.of(0x11))).toBe(true);
    // HEAD at 64, TAIL at 128, slot 0 at 192: [u32 len = 3][aa bb cc], slot 1 at 256.
    expect(dv.getUint32(64, le)).toBe(2);
    expect(dv.getUint32(128, le)).toBe(0);
    expect([...ring.bytes.subarray(192, 199)]).toEqual([3, 0, 0, 0, 0xaa, 0xbb, 0xcc]);
    expect([...ring.bytes.subarray(256, 261)]).toEqual([1, 0, 0, 0, 0x11]);
    ring.release();
    expect(dv.getUint32(128, le)).toBe(1);
    expect(RingLayout.HEADER_BYTES % 64).toBe(0);
    expect(RingLayout.OFF_TAIL - RingLayout.OFF_HEAD).toBeGreaterThanOrEqual(64);
  });

  it('attach() sees the same ring and rejects a buffer that is not one', () => {
    const a = FrameRing.create({ slots: 8, slotSize: 128 });
    a.push(frame(100, 1));
    const b = FrameRing.attach(a.buffer);
    expect(b.slotCount).toBe(8);
    expect(b.slotSize).toBe(128);
    expect(b.peek()).toEqual(frame(100, 1));
    expect(() => FrameRing.attach(new SharedArrayBuffer(512))).toThrow(/not a FrameRing/);
    const short = new SharedArrayBuffer(192 + 8 * 128 - 1);
    new Uint8Array(short).set(a.bytes.subarray(0, 192));
    expect(() => FrameRing.attach(short)).toThrow(/too small/);
  });

  it('rejects bad geometry with EINVAL', () => {
    for (const [slots, slotSize] of [[0, 64], [3, 64], [131072, 64], [4, 60], [4, 8], [4, 2 << 20]] as const) {
      let err: unknown;
      try {
        FrameRing.create({ slots, slotSize });
      } catch (e) {
        err = e;
      }
      expect(isStackError(err, 'EINVAL'), `${slots} x ${slotSize}`).toBe(true);
    }
  });
});

describe('FrameRing producer/consumer', () => {
  it('starts empty: peek undefined, drain visits nothing, release is a no-op', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64 });
    expect(ring.isEmpty()).toBe(true);
    expect(ring.peek()).toBeUndefined();
    expect(ring.drain(() => expect.unreachable())).toBe(0);
    ring.release();
    expect(ring.tail).toBe(0);
    expect(ring.free()).toBe(4);
  });

  it('fills up, rejects when full (counted), and accepts again after a release', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64 });
    for (let i = 0; i < 4; i++) expect(ring.push(frame(10 + i, i))).toBe(true);
    expect(ring.isFull()).toBe(true);
    expect(ring.push(frame(5, 9))).toBe(false);
    expect(ring.reserve()).toBeUndefined();
    expect(ring.fullCount).toBe(2);
    expect(ring.size()).toBe(4);
    expect(ring.peek()).toEqual(frame(10, 0));
    ring.release();
    expect(ring.push(frame(20, 4))).toBe(true);
    expect(drainAll(ring)).toEqual([frame(11, 1), frame(12, 2), frame(13, 3), frame(20, 4)]);
    expect(ring.isEmpty()).toBe(true);
    expect(ring.fullCount).toBe(2);
  });

  it('keeps FIFO order across many wraps of the slot index', () => {
    const ring = FrameRing.create({ slots: 8, slotSize: 64 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      const burst = 1 + (round % 8);
      for (let i = 0; i < burst && ring.push(frame(1 + ((next * 13) % 60), next)); i++) next++;
      const take = 1 + ((round * 5) % 8);
      ring.drain((f) => {
        expect(f).toEqual(frame(1 + ((expected * 13) % 60), expected));
        expected++;
      }, take);
    }
    drainAll(ring).forEach((f) => {
      expect(f).toEqual(frame(1 + ((expected * 13) % 60), expected));
      expected++;
    });
    expect(expected).toBe(next);
    expect(next).toBeGreaterThan(100);
    expect(ring.head).toBe(next);
    expect(ring.tail).toBe(next);
  });

  it('counts correctly across the 2^32 wrap of HEAD/TAIL', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64, start: 0xfffffffe });
    for (let i = 0; i < 4; i++) expect(ring.push(frame(8, i))).toBe(true);
    expect(ring.head).toBe(2); // wrapped
    expect(ring.size()).toBe(4);
    expect(ring.push(frame(8, 99))).toBe(false);
    expect(drainAll(ring)).toEqual([frame(8, 0), frame(8, 1), frame(8, 2), frame(8, 3)]);
    expect(ring.tail).toBe(2);
    expect(ring.size()).toBe(0);
  });

  it('takes a frame of exactly slotSize - 4 bytes and rejects one byte more (counted)', () => {
    const ring = FrameRing.create({ slots: 2, slotSize: 64 });
    expect(ring.frameCapacity).toBe(60);
    const full = frame(60, 7);
    expect(ring.push(frame(61, 1))).toBe(false);
    expect(ring.oversizeCount).toBe(1);
    expect(ring.push(full)).toBe(true);
    expect(ring.push(new Uint8Array(0))).toBe(true);
    // The full frame must not spill into the next slot's length word.
    const dv = new DataView(ring.buffer);
    expect(dv.getUint32(192 + 64, true)).toBe(0);
    expect(drainAll(ring)).toEqual([full, new Uint8Array(0)]);
    expect(ring.fullCount).toBe(0);
  });

  it('reserve/commit writes in place; commit validates the length', () => {
    const ring = FrameRing.create({ slots: 2, slotSize: 32 });
    const slot = ring.reserve()!;
    expect(slot.length).toBe(28);
    slot.set([1, 2, 3]);
    expect(ring.isEmpty()).toBe(true); // not published before commit
    expect(ring.commit(3)).toBe(true);
    expect(ring.peek()).toEqual(Uint8Array.of(1, 2, 3));
    expect(ring.commit(3)).toBe(false); // no reservation
    ring.reserve();
    expect(ring.commit(29)).toBe(false);
    expect(ring.oversizeCount).toBe(1);
    expect(ring.size()).toBe(1);
  });

  it('drain releases the throwing frame so a poison frame is seen once', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64 });
    for (let i = 0; i < 3; i++) ring.push(frame(4, i));
    let seen = 0;
    expect(() =>
      ring.drain(() => {
        if (++seen === 2) throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(ring.size()).toBe(1);
    expect(drainAll(ring)).toEqual([frame(4, 2)]);
  });

  it('views are into the slot, not copies (zero-copy consumer)', () => {
    const ring = FrameRing.create({ slots: 2, slotSize: 64 });
    ring.push(Uint8Array.of(1, 2, 3, 4));
    const v = ring.peek()!;
    expect(v.buffer).toBe(ring.buffer);
    expect(v.byteOffset).toBe(192 + 4);
  });

  it('a corrupt length word from the other side is clamped to the slot', () => {
    const ring = FrameRing.create({ slots: 2, slotSize: 64 });
    ring.push(Uint8Array.of(1));
    new DataView(ring.buffer).setUint32(192, 0xffffffff, true);
    expect(ring.peek()!.length).toBe(60);
  });

  it('reserveIndex(): the next slot by index, the same until commit(); full is -1 and not counted', () => {
    const ring = FrameRing.create({ slots: 2, slotSize: 64 });
    const i = ring.reserveIndex();
    expect(i).toBe(0);
    expect(ring.reserved).toBe(true);
    expect(ring.reserveIndex()).toBe(0);
    const off = ring.dataOffset(i);
    expect(off).toBe(192 + 4);
    ring.bytes.set([7, 8, 9], off);
    expect(ring.commit(3)).toBe(true);
    expect(ring.reserved).toBe(false);
    expect(ring.reserveIndex()).toBe(1);
    expect(ring.commit(1)).toBe(true);
    expect(ring.reserveIndex()).toBe(-1);
    expect(ring.fullCount).toBe(0);
    expect(ring.peek()).toEqual(Uint8Array.of(7, 8, 9));
  });

  it('push() takes a slot handed out by reserve(): the reservation is void, a later commit() publishes nothing', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64 });
    expect(ring.reserveIndex()).toBe(0);
    expect(ring.push(Uint8Array.of(1, 2))).toBe(true);
    expect(ring.reserved).toBe(false);
    expect(ring.commit(5)).toBe(false);
    expect(ring.size()).toBe(1);
    expect(ring.peek()).toEqual(Uint8Array.of(1, 2));
  });

  it('shared: false allocates a plain ArrayBuffer with the same layout (attach() accepts it)', () => {
    const ring = FrameRing.create({ slots: 4, slotSize: 64, shared: false });
    expect(ring.buffer).toBeInstanceOf(ArrayBuffer);
    expect(FrameRing.create({ slots: 4, slotSize: 64 }).buffer).toBeInstanceOf(SharedArrayBuffer);
    ring.push(Uint8Array.of(4, 5, 6));
    const other = FrameRing.attach(ring.buffer);
    expect(other.peek()).toEqual(Uint8Array.of(4, 5, 6));
  });
});
