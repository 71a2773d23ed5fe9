import { describe, expect, it } from 'vitest';
import { UDP_HEADER_LEN, UdpView, emitUdp, quotedPorts } from '../../src/udp/header.js';

const A = 0x0a4d0001; // 10.77.0.1
const B = 0x0a4d0002; // 10.77.0.2

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function emit(src: number, dst: number, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(UDP_HEADER_LEN + payload.length + 16).fill(0xaa);
  buf.set(payload, UDP_HEADER_LEN);
  const n = emitUdp(buf, src, dst, sport, dport, payload.length);
  return buf.slice(0, n);
}

// Golden bytes computed independently (Python, RFC 1071 sum over pseudo-header + datagram).
const HELLO = '9c400007000d0b1e68656c6c6f'; // 10.77.0.1:40000 -> 10.77.0.2:7 "hello"
const HI = '23e88235000cdbb248692100'; // 10.77.0.1:9192 -> 10.77.0.2:33333 "Hi!\0"

describe('UDP header', () => {
  it('emits golden bytes (odd and even payload lengths)', () => {
    expect(toHex(emit(A, B, 40000, 7, new TextEncoder().encode('hello')))).toBe(HELLO);
    expect(toHex(emit(A, B, 9192, 33333, hex('48692100')))).toBe(HI);
  });

  it('sends a computed checksum of zero as 0xffff (RFC 768)', () => {
    const d = emit(A, B, 1000, 2000, hex('df85'));
    expect(toHex(d.subarray(6, 8))).toBe('ffff');
    expect(UdpView.parse(d, A, B)).toBeInstanceOf(UdpView);
  });

  it('parses golden bytes into fields and a payload view', () => {
    const bytes = hex(HELLO);
    const v = UdpView.parse(bytes, A, B);
    if (typeof v === 'string') throw new Error(v);
    expect(v.srcPort).toBe(40000);
    expect(v.dstPort).toBe(7);
    expect(v.length).toBe(13);
    expect(v.checksum).toBe(0x0b1e);
    expect(new TextDecoder().decode(v.payload)).toBe('hello');
    expect(v.payload.buffer).toBe(bytes.buffer); // a view, not a copy
  });

  it('rejects a bad checksum, but accepts a zero (absent) checksum', () => {
    const bad = hex(HELLO);
    bad[12] = bad[12]! ^ 1;
    expect(UdpView.parse(bad, A, B)).toBe('bad-checksum');
    // Wrong pseudo-header (different destination) also fails.
    expect(UdpView.parse(hex(HELLO), A, B + 1)).toBe('bad-checksum');
    const none = hex(HELLO);
    none[12] = none[12]! ^ 1;
    none[6] = 0;
    none[7] = 0;
    expect(UdpView.parse(none, A, B)).toBeInstanceOf(UdpView);
  });

  it('validates the length field and ignores trailing octets', () => {
    expect(UdpView.parse(hex('9c400007000d'), A, B)).toBe('short-header');
    const short = hex(HELLO);
    short[5] = 7; // length 7 < 8
    expect(UdpView.parse(short, A, B)).toBe('bad-length');
    const long = hex(HELLO);
    long[5] = 14; // length beyond the IP payload
    expect(UdpView.parse(long, A, B)).toBe('bad-length');
    const padded = new Uint8Array(20);
    padded.set(hex(HELLO));
    const v = UdpView.parse(padded, A, B);
    if (typeof v === 'string') throw new Error(v);
    expect(v.payload.length).toBe(5);
  });

  it('reads ports from a quoted header', () => {
    expect(quotedPorts(hex(HELLO).subarray(0, 8))).toEqual({ srcPort: 40000, dstPort: 7 });
    expect(quotedPorts(hex('9c40'))).toBeUndefined();
  });
});
