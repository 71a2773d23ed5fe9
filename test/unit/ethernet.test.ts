import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import {
  ETH_HEADER_LEN,
  EtherType,
  EthernetFrame,
  ParseError,
  emitEthernetHeader,
  ethertypeOf,
} from '../../src/link/ethernet.js';
import {
  copyMac,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  isZeroMac,
  macEquals,
  parseMac,
  randomLocalMac,
  writeIpv4MulticastMac,
} from '../../src/link/mac.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

const A = hex('02 00 00 00 00 01');
const B = hex('02 00 00 00 00 02');

describe('Ethernet II view', () => {
  // dst 02:00:00:00:00:02, src 02:00:00:00:00:01, type IPv4, payload "abcd"
  const golden = hex('020000000002 020000000001 0800 61626364');

  it('emits golden bytes', () => {
    const buf = new Uint8Array(18);
    emitEthernetHeader(buf, 0, B, A, EtherType.IPv4);
    buf.set([0x61, 0x62, 0x63, 0x64], ETH_HEADER_LEN);
    expect(buf).toEqual(golden);
  });

  it('overlay setters produce the same bytes', () => {
    const buf = new Uint8Array(18);
    const f = EthernetFrame.overlay(buf);
    f.setDst(B);
    f.setSrc(A);
    f.setEthertype(0x0800);
    buf.set([0x61, 0x62, 0x63, 0x64], 14);
    expect(buf).toEqual(golden);
  });

  it('parses golden bytes back (round trip)', () => {
    const f = EthernetFrame.parse(golden);
    if (f instanceof ParseError) throw new Error(f.reason);
    expect(formatMac(f.dst)).toBe('02:00:00:00:00:02');
    expect(formatMac(f.src)).toBe('02:00:00:00:00:01');
    expect(f.ethertype).toBe(0x0800);
    expect(ethertypeOf(golden)).toBe(0x0800);
    expect([...f.payload]).toEqual([0x61, 0x62, 0x63, 0x64]);
    expect(f.payloadLength).toBe(4);
    expect(f.dstEquals(B)).toBe(true);
    expect(f.srcEquals(B)).toBe(false);
    expect(f.dstIsBroadcast()).toBe(false);
    expect(f.toString()).toBe('02:00:00:00:00:01 > 02:00:00:00:00:02 type 0x0800 len 18');
  });

  it('views do not copy: payload is a window on the same memory', () => {
    const bytes = golden.slice();
    const f = EthernetFrame.parse(bytes) as EthernetFrame;
    bytes[14] = 0x7a;
    expect(f.payload[0]).toBe(0x7a);
    expect(f.payload.buffer).toBe(bytes.buffer);
  });

  it('keeps minimum-frame padding in the payload', () => {
    const frame = new Uint8Array(60);
    emitEthernetHeader(frame, 0, B, A, EtherType.ARP);
    const f = EthernetFrame.parse(frame) as EthernetFrame;
    expect(f.payload.length).toBe(46);
  });

  it('refuses frames shorter than the header, without throwing', () => {
    for (const n of [0, 1, 13]) {
      const r = EthernetFrame.parse(new Uint8Array(n));
      expect(r).toBeInstanceOf(ParseError);
      expect((r as ParseError).reason).toContain(`${n} bytes`);
    }
    expect(EthernetFrame.parse(new Uint8Array(14))).toBeInstanceOf(EthernetFrame);
  });

  it('reusable view: reset() validates and keeps the old frame on error', () => {
    const v = EthernetFrame.reusable();
    expect(v.reset(golden)).toBeUndefined();
    expect(v.ethertype).toBe(0x0800);
    expect(v.reset(new Uint8Array(5))).toMatch(/shorter/);
    expect(v.bytes).toBe(golden);
  });

  it('overlay refuses a buffer too small for the header', () => {
    expect(() => EthernetFrame.overlay(new Uint8Array(10))).toThrow(RangeError);
  });

  it('has the standard EtherType numbers', () => {
    expect(EtherType).toEqual({ IPv4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPv6: 0x86dd });
  });
});

describe('MAC helpers', () => {
  it('parses and formats', () => {
    expect(parseMac('02:00:0a:ff:10:01')).toEqual(hex('02000aff1001'));
    expect(parseMac('02-00-0A-FF-10-01')).toEqual(hex('02000aff1001'));
    expect(formatMac(hex('02000aff1001'))).toBe('02:00:0a:ff:10:01');
    for (const bad of ['', '02:00:00:00:00', '02:00:00:00:00:00:00', 'zz:00:00:00:00:00', '123:0:0:0:0:0']) {
      expect(parseMac(bad)).toBeUndefined();
    }
  });

  it('checks broadcast, multicast, zero and equality at offsets', () => {
    const f = hex('ffffffffffff 01005e000001 000000000000 020000000001');
    expect(isBroadcastMac(f, 0)).toBe(true);
    expect(isBroadcastMac(f, 6)).toBe(false);
    expect(isMulticastMac(f, 0)).toBe(true);
    expect(isMulticastMac(f, 6)).toBe(true);
    expect(isMulticastMac(f, 18)).toBe(false);
    expect(isZeroMac(f, 12)).toBe(true);
    expect(isZeroMac(f, 18)).toBe(false);
    expect(macEquals(f, 18, A)).toBe(true);
    expect(macEquals(f, 18, B)).toBe(false);
    const out = new Uint8Array(8);
    copyMac(out, 2, A);
    expect(macEquals(out, 2, A)).toBe(true);
  });

  it('maps IPv4 multicast groups (RFC 1112 6.4: low 23 bits)', () => {
    const out = new Uint8Array(6);
    writeIpv4MulticastMac(0xe0ff0102 /* 224.255.1.2 */, out);
    expect(formatMac(out)).toBe('01:00:5e:7f:01:02');
    writeIpv4MulticastMac(0xef800001 /* 239.128.0.1: bit 23 dropped */, out);
    expect(formatMac(out)).toBe('01:00:5e:00:00:01');
  });

  it('randomLocalMac is locally administered, unicast, seeded', () => {
    const rng = new SeededRng(7);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const m = randomLocalMac(rng);
      expect(m[0]! & 0x02).toBe(0x02);
      expect(m[0]! & 0x01).toBe(0);
      seen.add(formatMac(m));
    }
    expect(seen.size).toBe(200);
    expect(randomLocalMac(new SeededRng(7))).toEqual(randomLocalMac(new SeededRng(7)));
  });
});
