import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { checksum } from '../../src/ip/checksum.js';
import {
  emitIpv4Header,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  Ipv4Off,
  Ipv4Packet,
  ipv4OptionsError,
  ipv4SourceRoutePending,
  refreshIpv4Checksum,
  readU32,
} from '../../src/ip/ipv4.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function mustParse(b: Uint8Array): Ipv4Packet {
  const p = Ipv4Packet.parse(b);
  if (typeof p === 'string') throw new Error(`parse failed: ${p}`);
  return p;
}

// Header of a `ping -c1 10.77.0.2` echo request from 10.77.0.1 (84 bytes: 20 + 8 + 56).
const ECHO_HDR = hex('4500 0054 1c46 4000 4001 09c7 0a4d 0001 0a4d 0002');
// The classic UDP header example (192.168.0.1 -> 192.168.0.199, checksum b861).
const UDP_HDR = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');

describe('Ipv4Packet.parse', () => {
  it('reads every field of a captured echo request header', () => {
    const d = new Uint8Array(84);
    d.set(ECHO_HDR);
    d[20] = 8;
    const p = mustParse(d);
    expect(p.version).toBe(4);
    expect(p.headerLength).toBe(20);
    expect(p.tos).toBe(0);
    expect(p.totalLength).toBe(84);
    expect(p.id).toBe(0x1c46);
    expect(p.flags).toBe(0b010);
    expect(p.dontFragment).toBe(true);
    expect(p.moreFragments).toBe(false);
    expect(p.fragmentOffset).toBe(0);
    expect(p.isFragment).toBe(false);
    expect(p.ttl).toBe(64);
    expect(p.protocol).toBe(1);
    expect(p.headerChecksum).toBe(0x09c7);
    expect(p.src).toBe(0x0a4d0001);
    expect(p.dst).toBe(0x0a4d0002);
    expect(p.options.length).toBe(0);
    expect(p.payload.length).toBe(64);
    expect(p.payload[0]).toBe(8);
    expect(p.header).toEqual(ECHO_HDR);
  });

  it('views without copying', () => {
    const d = new Uint8Array(84);
    d.set(ECHO_HDR);
    const p = mustParse(d);
    d[30] = 0x99;
    expect(p.payload[10]).toBe(0x99);
    expect(p.payload.buffer).toBe(d.buffer);
  });

  it('trims trailing link padding to Total Length', () => {
    // A 46-byte minimum Ethernet payload carrying a 28-byte datagram.
    const d = new Uint8Array(46);
    emitIpv4Header(d, 0, { totalLength: 28, id: 1, ttl: 64, protocol: 17, src: 1, dst: 2 });
    d.fill(0xee, 28);
    const p = mustParse(d);
    expect(p.datagram.length).toBe(28);
    expect(p.payload.length).toBe(8);
  });

  it('rejects malformed headers with a reason', () => {
    const good = new Uint8Array(0x73);
    good.set(UDP_HDR);
    expect(typeof Ipv4Packet.parse(good)).toBe('object');

    expect(Ipv4Packet.parse(good.subarray(0, 19))).toBe('too-short');
    const v6 = good.slice();
    v6[0] = 0x65;
    expect(Ipv4Packet.parse(v6)).toBe('bad-version');
    const ihl4 = good.slice();
    ihl4[0] = 0x44;
    expect(Ipv4Packet.parse(ihl4)).toBe('bad-header-length');
    const ihlTooBig = good.slice(0, 24);
    ihlTooBig[0] = 0x47; // 28-byte header in 24 bytes
    expect(Ipv4Packet.parse(ihlTooBig)).toBe('bad-header-length');
    const shortTotal = good.slice();
    shortTotal[2] = 0;
    shortTotal[3] = 19;
    expect(Ipv4Packet.parse(shortTotal)).toBe('bad-total-length');
    expect(Ipv4Packet.parse(good.subarray(0, 0x72))).toBe('truncated');
    const badSum = good.slice();
    badSum[11] = badSum[11]! ^ 1;
    expect(Ipv4Packet.parse(badSum)).toBe('bad-checksum');
    // Checksum verification can be skipped (e.g. offloaded).
    expect(typeof Ipv4Packet.parse(badSum, false)).toBe('object');
  });

  it('a reused view re-points with reset()', () => {
    const p = new Ipv4Packet();
    const a = new Uint8Array(0x73);
    a.set(UDP_HDR);
    expect(p.reset(a)).toBeUndefined();
    expect(p.dst).toBe(0xc0a800c7);
    const b = new Uint8Array(84);
    b.set(ECHO_HDR);
    expect(p.reset(b)).toBeUndefined();
    expect(p.dst).toBe(0x0a4d0002);
    expect(p.reset(new Uint8Array(5))).toBe('too-short');
  });

  it('exposes options and fragment fields', () => {
    // IHL 6 with a NOP NOP NOP END option word, MF set, offset 185 * 8.
    const d = new Uint8Array(24 + 16);
    d.set(hex('46000028abcd20b94006 0000 0a4d0001 0a4d0002 01010100'));
    refreshIpv4Checksum(d, 0, 24);
    const p = mustParse(d);
    expect(p.headerLength).toBe(24);
    expect(Array.from(p.options)).toEqual([1, 1, 1, 0]);
    expect(p.moreFragments).toBe(true);
    expect(p.dontFragment).toBe(false);
    expect(p.fragmentOffset).toBe(185 * 8);
    expect(p.isFragment).toBe(true);
    expect(p.payload.length).toBe(16);
    expect(ipv4OptionsError(p.header)).toBe(-1);
  });

  it('parses quoted datagrams leniently (ICMP errors quote a truncated datagram)', () => {
    const q = new Uint8Array(28);
    q.set(UDP_HDR);
    q[20] = 0x12;
    const p = Ipv4Packet.parseQuoted(q);
    if (typeof p === 'string') throw new Error(p);
    expect(p.totalLength).toBe(0x73);
    expect(p.payload.length).toBe(8);
    expect(p.protocol).toBe(17);
    expect(Ipv4Packet.parseQuoted(q.subarray(0, 27))).toBe('truncated');
    const bad = q.slice();
    bad[0] = 0x55;
    expect(Ipv4Packet.parseQuoted(bad)).toBe('bad-version');
  });
});

describe('emitIpv4Header', () => {
  it('writes the captured header byte for byte', () => {
    const buf = new Uint8Array(30).fill(0xaa);
    const n = emitIpv4Header(buf, 5, {
      totalLength: 84,
      id: 0x1c46,
      dontFragment: true,
      ttl: 64,
      protocol: 1,
      src: 0x0a4d0001,
      dst: 0x0a4d0002,
    });
    expect(n).toBe(20);
    expect(buf.subarray(5, 25)).toEqual(ECHO_HDR);
    expect(buf[4]).toBe(0xaa);
    expect(buf[25]).toBe(0xaa);
  });

  it('writes the UDP example header (checksum b861)', () => {
    const buf = new Uint8Array(20);
    emitIpv4Header(buf, 0, { totalLength: 0x73, id: 0, dontFragment: true, ttl: 64, protocol: 17, src: 0xc0a80001, dst: 0xc0a800c7 });
    expect(buf).toEqual(UDP_HDR);
  });

  it('round-trips random fields through parse', () => {
    const rng = new SeededRng(791);
    for (let t = 0; t < 500; t++) {
      const payload = rng.nextInt(0, 200);
      const f = {
        tos: rng.nextU32() & 0xff,
        totalLength: 20 + payload,
        id: rng.nextU32() & 0xffff,
        dontFragment: (rng.nextU32() & 1) === 1,
        moreFragments: (rng.nextU32() & 1) === 1,
        fragmentOffset: (rng.nextU32() & 0x1fff) * 8,
        ttl: rng.nextU32() & 0xff,
        protocol: rng.nextU32() & 0xff,
        src: rng.nextU32(),
        dst: rng.nextU32(),
      };
      const buf = new Uint8Array(f.totalLength);
      emitIpv4Header(buf, 0, f);
      expect(checksum(buf, 0, 0, 20)).toBe(0xffff);
      const p = mustParse(buf);
      expect([p.tos, p.totalLength, p.id, p.dontFragment, p.moreFragments, p.fragmentOffset, p.ttl, p.protocol, p.src, p.dst]).toEqual([
        f.tos, f.totalLength, f.id, f.dontFragment, f.moreFragments, f.fragmentOffset, f.ttl, f.protocol, f.src, f.dst,
      ]);
      const flags = (buf[Ipv4Off.FLAGS_FRAG]! << 8) | buf[Ipv4Off.FLAGS_FRAG + 1]!;
      expect((flags & IPV4_FLAG_DF) !== 0).toBe(f.dontFragment);
      expect((flags & IPV4_FLAG_MF) !== 0).toBe(f.moreFragments);
      expect(readU32(buf, Ipv4Off.SRC)).toBe(f.src);
    }
  });
});

describe('IPv4 options', () => {
  function header(opts: number[]): Uint8Array {
    const hl = 20 + opts.length;
    const h = new Uint8Array(hl);
    h[0] = 0x40 | (hl / 4);
    h.set(opts, 20);
    return h;
  }

  it('finds malformed options and reports the parameter-problem pointer', () => {
    expect(ipv4OptionsError(header([1, 1, 1, 1]))).toBe(-1);
    expect(ipv4OptionsError(header([0, 0xff, 0xff, 0xff]))).toBe(-1); // after END: padding
    expect(ipv4OptionsError(header([7, 1, 0, 0]))).toBe(21); // length < 2
    expect(ipv4OptionsError(header([1, 1, 1, 7]))).toBe(23); // type with no length octet
    expect(ipv4OptionsError(header([131, 12, 4, 0]))).toBe(21); // runs past the header
    expect(ipv4OptionsError(header([148, 4, 0, 0]))).toBe(-1); // router alert
  });

  it('detects a source route that still names hops', () => {
    // LSRR, length 7, pointer 4: one address left.
    expect(ipv4SourceRoutePending(header([131, 7, 4, 10, 77, 0, 9, 0]))).toBe(true);
    // Pointer 8 > length 7: exhausted, we are the final destination.
    expect(ipv4SourceRoutePending(header([131, 7, 8, 10, 77, 0, 9, 0]))).toBe(false);
    expect(ipv4SourceRoutePending(header([1, 137, 7, 4, 1, 2, 3, 4]))).toBe(true);
    expect(ipv4SourceRoutePending(header([1, 1, 1, 1]))).toBe(false);
  });
});
