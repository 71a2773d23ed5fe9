import { describe, expect, it } from 'vitest';
import { checksum } from '../../src/ip/checksum.js';
import {
  emitEcho,
  emitIcmpError,
  fragNeededRest,
  ICMP_MAX_QUOTE,
  IcmpPacket,
  icmpErrno,
  IcmpType,
  isIcmpError,
  isIcmpQuery,
  paramProblemRest,
  UnreachCode,
} from '../../src/ip/icmp.js';
import { emitIpv4Header, Ipv4Packet } from '../../src/ip/ipv4.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function mustParse(b: Uint8Array): IcmpPacket {
  const p = IcmpPacket.parse(b);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** ping's default 56 data bytes, here 0x10, 0x11, ... */
const DATA = Uint8Array.from({ length: 56 }, (_, i) => (i + 0x10) & 0xff);
const ECHO_REQ = new Uint8Array([...hex('0800 2cf6 1234 0001'), ...DATA]);
const ECHO_REP = new Uint8Array([...hex('0000 34f6 1234 0001'), ...DATA]);

describe('ICMP echo', () => {
  it('emits an echo request byte for byte', () => {
    const buf = new Uint8Array(70);
    const n = emitEcho(buf, 2, 8, 0x1234, 1, DATA);
    expect(n).toBe(64);
    expect(buf.subarray(2, 66)).toEqual(ECHO_REQ);
  });

  it('emits an echo reply with data already in place', () => {
    const buf = new Uint8Array(64);
    buf.set(DATA, 8);
    emitEcho(buf, 0, 0, 0x1234, 1, undefined, 56);
    expect(buf).toEqual(ECHO_REP);
  });

  it('parses an echo request', () => {
    const p = mustParse(ECHO_REQ);
    expect(p.type).toBe(IcmpType.ECHO_REQUEST);
    expect(p.code).toBe(0);
    expect(p.checksum).toBe(0x2cf6);
    expect(p.id).toBe(0x1234);
    expect(p.sequence).toBe(1);
    expect(p.rest).toBe(0x12340001);
    expect(p.data).toEqual(DATA);
    expect(p.message).toBe(ECHO_REQ);
  });

  it('rejects short and corrupted messages', () => {
    expect(IcmpPacket.parse(ECHO_REQ.subarray(0, 7))).toBe('too-short');
    const bad = ECHO_REQ.slice();
    bad[40] = bad[40]! ^ 0x40;
    expect(IcmpPacket.parse(bad)).toBe('bad-checksum');
    expect(typeof IcmpPacket.parse(bad, false)).toBe('object');
  });
});

describe('ICMP errors', () => {
  /** A UDP datagram 10.77.0.1:4660 -> 10.77.0.2:53 with `n` data bytes. */
  function udpDatagram(n: number): Uint8Array {
    const d = new Uint8Array(28 + n);
    emitIpv4Header(d, 0, { totalLength: d.length, id: 7, ttl: 64, protocol: 17, src: 0x0a4d0001, dst: 0x0a4d0002 });
    d.set(hex('1234 0035'), 20);
    d[24] = (8 + n) >>> 8;
    d[25] = (8 + n) & 0xff;
    for (let i = 0; i < n; i++) d[28 + i] = i & 0xff;
    return d;
  }

  it('port unreachable quotes the whole small datagram', () => {
    const orig = udpDatagram(4);
    const buf = new Uint8Array(100);
    const n = emitIcmpError(buf, 0, IcmpType.DEST_UNREACH, UnreachCode.PORT, 0, orig);
    expect(n).toBe(8 + 32);
    const msg = buf.subarray(0, n);
    expect(checksum(msg)).toBe(0xffff);
    expect(Array.from(msg.subarray(0, 2))).toEqual([3, 3]);
    expect(Array.from(msg.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(msg.subarray(8)).toEqual(orig);
    const p = mustParse(msg);
    const q = Ipv4Packet.parseQuoted(p.data);
    if (typeof q === 'string') throw new Error(q);
    expect(q.protocol).toBe(17);
    expect(q.src).toBe(0x0a4d0001);
    expect(Array.from(q.payload.subarray(0, 4))).toEqual([0x12, 0x34, 0x00, 0x35]);
  });

  it('quotes at most 548 bytes so the error fits in 576 (RFC 1812 4.3.2.3)', () => {
    const orig = udpDatagram(1400);
    const buf = new Uint8Array(2000);
    const n = emitIcmpError(buf, 0, IcmpType.DEST_UNREACH, UnreachCode.PORT, 0, orig);
    expect(ICMP_MAX_QUOTE).toBe(548);
    expect(n).toBe(8 + 548);
    expect(20 + n).toBe(576);
    expect(buf.subarray(8, n)).toEqual(orig.subarray(0, 548));
    expect(checksum(buf.subarray(0, n))).toBe(0xffff);
  });

  it('carries the next-hop MTU and the parameter-problem pointer', () => {
    const orig = udpDatagram(0);
    const buf = new Uint8Array(64);
    const n = emitIcmpError(buf, 0, IcmpType.DEST_UNREACH, UnreachCode.FRAG_NEEDED, fragNeededRest(1400), orig);
    expect(Array.from(buf.subarray(4, 8))).toEqual([0, 0, 0x05, 0x78]);
    expect(mustParse(buf.subarray(0, n)).nextHopMtu).toBe(1400);
    const m = emitIcmpError(buf, 0, IcmpType.PARAM_PROBLEM, 0, paramProblemRest(21), orig);
    expect(Array.from(buf.subarray(4, 8))).toEqual([21, 0, 0, 0]);
    expect(mustParse(buf.subarray(0, m)).pointer).toBe(21);
  });

  it('classifies types', () => {
    for (const t of [3, 4, 5, 11, 12]) expect(isIcmpError(t)).toBe(true);
    for (const t of [0, 8, 13, 14]) {
      expect(isIcmpError(t)).toBe(false);
      expect(isIcmpQuery(t)).toBe(true);
    }
    expect(isIcmpQuery(3)).toBe(false);
    expect(isIcmpQuery(42)).toBe(false);
  });

  it('maps errors to errno like Linux icmp_err_convert', () => {
    const table: [number, number, string | undefined][] = [
      [3, 0, 'ENETUNREACH'],
      [3, 1, 'EHOSTUNREACH'],
      [3, 2, 'ENOPROTOOPT'],
      [3, 3, 'ECONNREFUSED'],
      [3, 4, 'EMSGSIZE'],
      [3, 5, 'EOPNOTSUPP'],
      [3, 6, 'ENETUNREACH'],
      [3, 7, 'EHOSTDOWN'],
      [3, 9, 'ENETUNREACH'],
      [3, 10, 'EHOSTUNREACH'],
      [3, 13, 'EHOSTUNREACH'],
      [11, 0, 'EHOSTUNREACH'],
      [11, 1, 'EHOSTUNREACH'],
      [12, 0, 'EHOSTUNREACH'],
      [0, 0, undefined],
      [4, 0, undefined],
      [5, 1, undefined],
    ];
    for (const [t, c, e] of table) expect(icmpErrno(t, c), `${t}/${c}`).toBe(e);
  });
});
