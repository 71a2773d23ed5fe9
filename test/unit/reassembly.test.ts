import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { checksum } from '../../src/ip/checksum.js';
import { emitIpv4Header, Ipv4Packet } from '../../src/ip/ipv4.js';
import { FRAGMENT_OVERHEAD, Reassembler, type ReassemblyOptions } from '../../src/ip/reassembly.js';

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;

/** A whole datagram with a recognizable payload. */
function datagram(payloadLen: number, id = 0x4242, seed = 1, src = SRC): Uint8Array {
  const d = new Uint8Array(20 + payloadLen);
  emitIpv4Header(d, 0, { totalLength: d.length, id, ttl: 64, protocol: 17, src, dst: DST });
  for (let i = 0; i < payloadLen; i++) d[20 + i] = (i * 7 + seed) & 0xff;
  return d;
}

/** Fragment [off, off + len) of the payload of `whole` (a view over a fresh buffer). */
function frag(whole: Uint8Array, off: number, len: number, mf = off + len < whole.length - 20, patch?: (b: Uint8Array) => void): Ipv4Packet {
  const p = whole.subarray(20);
  const b = new Uint8Array(20 + len);
  emitIpv4Header(b, 0, {
    totalLength: b.length,
    id: (whole[4]! << 8) | whole[5]!,
    moreFragments: mf,
    fragmentOffset: off,
    ttl: 64,
    protocol: whole[9]!,
    src: ((whole[12]! << 24) | (whole[13]! << 16) | (whole[14]! << 8) | whole[15]!) >>> 0,
    dst: DST,
  });
  b.set(p.subarray(off, off + len), 20);
  patch?.(b);
  const v = Ipv4Packet.parse(b, false);
  if (typeof v === 'string') throw new Error(v);
  return v;
}

function split(whole: Uint8Array, size: number): Ipv4Packet[] {
  const n = whole.length - 20;
  const out: Ipv4Packet[] = [];
  for (let off = 0; off < n; off += size) out.push(frag(whole, off, Math.min(size, n - off)));
  return out;
}

function setup(options?: ReassemblyOptions) {
  const clock = new ManualClock(0);
  const timeouts: { src: number; dst: number; quote: Uint8Array }[] = [];
  const r = new Reassembler({ clock, options, onTimeout: (src, dst, quote) => timeouts.push({ src, dst, quote }) });
  return { clock, r, timeouts };
}

function feed(r: Reassembler, frags: Ipv4Packet[]): Uint8Array[] {
  const done: Uint8Array[] = [];
  for (const f of frags) {
    const out = r.add(f);
    if (out !== undefined) done.push(out);
  }
  return done;
}

describe('Reassembler', () => {
  it('reassembles in-order fragments into the original datagram', () => {
    const { r } = setup();
    const whole = datagram(3000);
    const done = feed(r, split(whole, 1480));
    expect(done).toHaveLength(1);
    expect(done[0]).toEqual(whole);
    expect(checksum(done[0]!, 0, 0, 20)).toBe(0xffff);
    expect(r.stats.ReasmReqds).toBe(3);
    expect(r.stats.ReasmOKs).toBe(1);
    expect(r.inProgress).toBe(0);
    expect(r.bytesHeld).toBe(0);
  });

  it('reassembles any arrival order (seeded permutations)', () => {
    const rng = new SeededRng(815);
    for (let t = 0; t < 200; t++) {
      const { r } = setup();
      const whole = datagram(rng.nextInt(9, 5000), t, t);
      const frags = split(whole, 8 * rng.nextInt(1, 80));
      for (let i = frags.length - 1; i > 0; i--) {
        const j = rng.nextInt(0, i + 1);
        [frags[i], frags[j]] = [frags[j]!, frags[i]!];
      }
      const done = feed(r, frags);
      expect(done, `t=${t}`).toHaveLength(1);
      expect(Buffer.from(done[0]!).equals(whole), `t=${t}`).toBe(true);
    }
  });

  it('drops exact and contained duplicates but completes', () => {
    const { r } = setup();
    const whole = datagram(64);
    const a = frag(whole, 0, 32);
    const b = frag(whole, 32, 32);
    expect(r.add(a)).toBeUndefined();
    expect(r.add(a)).toBeUndefined();
    expect(r.add(frag(whole, 8, 16))).toBeUndefined();
    expect(r.stats.ReasmDuplicates).toBe(2);
    expect(r.add(b)).toEqual(whole);
    expect(r.stats.ReasmFails).toBe(0);
  });

  it('discards the whole datagram on a partial overlap (Linux, RFC 5722 style)', () => {
    const { r } = setup();
    const whole = datagram(64);
    r.add(frag(whole, 0, 32));
    expect(r.add(frag(whole, 24, 16))).toBeUndefined();
    expect(r.stats.ReasmOverlaps).toBe(1);
    expect(r.stats.ReasmFails).toBe(1);
    expect(r.inProgress).toBe(0);
    // The rest arrives: a new, incomplete datagram (the first part is gone).
    expect(r.add(frag(whole, 32, 32))).toBeUndefined();
    expect(r.inProgress).toBe(1);
  });

  it("with overlap 'keep-first', keeps the first bytes received and fills only holes", () => {
    const { r } = setup({ overlap: 'keep-first' });
    const first = datagram(64, 9, 1);
    const second = datagram(64, 9, 100); // same key, different bytes
    r.add(frag(first, 16, 16));
    r.add(frag(first, 40, 8));
    // [8, 56) overlaps both held pieces: only [8,16), [32,40) and [48,56) are taken from it.
    expect(r.add(frag(second, 8, 48))).toBeUndefined();
    r.add(frag(second, 56, 8, false));
    const out = r.add(frag(second, 0, 8));
    expect(out).toBeDefined();
    const p = out!.subarray(20);
    const expectFrom = (src: Uint8Array, a: number, b: number) => expect(p.subarray(a, b)).toEqual(src.subarray(20 + a, 20 + b));
    expectFrom(second, 0, 16);
    expectFrom(first, 16, 32);
    expectFrom(second, 32, 40);
    expectFrom(first, 40, 48);
    expectFrom(second, 48, 64);
  });

  it('rejects inconsistent last fragments, data past the end and empty fragments', () => {
    const { r } = setup();
    const whole = datagram(64);
    r.add(frag(whole, 0, 16));
    r.add(frag(whole, 32, 16, false)); // last: ends at 48
    expect(r.add(frag(whole, 48, 16, true))).toBeUndefined(); // beyond the end
    expect(r.stats.ReasmFails).toBe(1);
    r.add(frag(whole, 40, 24, false));
    expect(r.add(frag(whole, 0, 16, false))).toBeUndefined(); // a second, different end
    expect(r.stats.ReasmFails).toBe(2);
    expect(r.add(frag(whole, 16, 0, true))).toBeUndefined();
    expect(r.stats.ReasmFails).toBe(3);
    expect(r.inProgress).toBe(0);
  });

  it('trims non-last fragments to a multiple of 8 bytes, like Linux', () => {
    const { r } = setup();
    const whole = datagram(40);
    // 21 bytes with MF: only [0, 16) counts; the rest must come again.
    expect(r.add(frag(whole, 0, 21))).toBeUndefined();
    expect(r.add(frag(whole, 24, 16, false))).toBeUndefined();
    expect(r.add(frag(whole, 16, 8))).toEqual(whole);
  });

  it('discards datagrams that would exceed 65535 bytes', () => {
    const { r } = setup();
    const whole = datagram(64);
    const tooFar = frag(whole, 0, 64, false, (b) => {
      b[6] = 0x1f; // offset 8191 * 8 = 65528, + 64 bytes
      b[7] = 0xff;
    });
    expect(r.add(tooFar)).toBeUndefined();
    expect(r.stats.ReasmOversize).toBe(1);
    expect(r.stats.ReasmFails).toBe(1);
    expect(r.inProgress).toBe(0);
  });

  it('keeps datagrams with different keys apart', () => {
    const { r } = setup();
    const a = datagram(48, 1, 1);
    const b = datagram(48, 1, 2, SRC + 1); // same id, other source
    r.add(frag(a, 0, 24));
    r.add(frag(b, 0, 24));
    expect(r.inProgress).toBe(2);
    expect(r.add(frag(b, 24, 24))).toEqual(b);
    expect(r.add(frag(a, 24, 24))).toEqual(a);
  });

  it('times out after 30 s with one timer, reporting the first fragment (ICMP time exceeded)', () => {
    const { clock, r, timeouts } = setup();
    const a = datagram(200, 1);
    const b = datagram(200, 2);
    r.add(frag(a, 0, 96)); // first fragment present
    clock.advance(10_000);
    r.add(frag(b, 96, 104, false)); // first fragment missing
    clock.advance(19_999);
    expect(r.stats.ReasmTimeout).toBe(0);
    clock.advance(1);
    expect(clock.now()).toBe(30_000);
    expect(r.stats.ReasmTimeout).toBe(1);
    expect(r.inProgress).toBe(1);
    expect(timeouts).toHaveLength(1);
    const q = timeouts[0]!;
    expect([q.src, q.dst]).toEqual([SRC, DST]);
    // The first fragment's header (MF set, as received) and its data.
    expect(q.quote.length).toBe(20 + 96);
    expect(q.quote[6]! & 0x20).toBe(0x20);
    expect(q.quote.subarray(20)).toEqual(a.subarray(20, 116));
    clock.advance(10_000);
    expect(r.stats.ReasmTimeout).toBe(2);
    expect(r.stats.ReasmFails).toBe(2);
    expect(timeouts).toHaveLength(1); // b never had its first fragment
    expect(r.inProgress).toBe(0);
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('evicts the oldest datagrams when over the byte budget', () => {
    const perFrag = 96 + FRAGMENT_OVERHEAD + 20; // payload + overhead + first header
    const { r } = setup({ maxBytes: perFrag * 3 + 10 });
    const ds = [1, 2, 3, 4].map((id) => datagram(200, id));
    for (const d of ds) r.add(frag(d, 0, 96));
    expect(r.stats.ReasmEvicted).toBe(1);
    expect(r.stats.ReasmFails).toBe(1);
    expect(r.inProgress).toBe(3);
    expect(r.bytesHeld).toBe(perFrag * 3);
    // The oldest (id 1) is gone; id 4 completes.
    expect(r.add(frag(ds[3]!, 96, 104, false))).toEqual(ds[3]);
    expect(r.add(frag(ds[0]!, 96, 104, false))).toBeUndefined();
  });

  it('evicts the oldest when too many datagrams are in progress', () => {
    const { r } = setup({ maxDatagrams: 2 });
    const ds = [1, 2, 3].map((id) => datagram(64, id));
    for (const d of ds) r.add(frag(d, 0, 32));
    expect(r.inProgress).toBe(2);
    expect(r.stats.ReasmEvicted).toBe(1);
    expect(r.add(frag(ds[0]!, 32, 32, false))).toBeUndefined();
    expect(r.add(frag(ds[2]!, 32, 32, false))).toEqual(ds[2]);
  });

  it('clear() drops everything and disarms the timer', () => {
    const { clock, r } = setup();
    r.add(frag(datagram(64), 0, 32));
    expect(clock.nextDeadline()).toBe(30_000);
    r.clear();
    expect(r.inProgress).toBe(0);
    expect(r.bytesHeld).toBe(0);
    expect(clock.nextDeadline()).toBeUndefined();
  });
});
