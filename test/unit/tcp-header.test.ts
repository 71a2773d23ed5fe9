/**
 * TCP segment codec (RFC 9293 3.1, 3.2; RFC 7323; RFC 2018): golden bytes, round trips,
 * validation of untrusted input.
 */
import { describe, expect, it } from 'vitest';
import { seq } from '../../src/core/seq.js';
import { internetSum, pseudoHeaderSum } from '../../src/ip/checksum.js';
import {
  decodeSegment,
  OptionsOut,
  Segment,
  setChecksum,
  TcpFlag,
  TcpHeaderView,
  writeHeader,
  writeOptions,
} from '../../src/tcp/header.js';

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A SYN as Linux sends it: MSS 1460, SACK-permitted, TS, NOP, WS 7. */
const LINUX_SYN_HEX =
  'c35000500000006400000000a002faf0' + // ports 50000 -> 80, seq 100, ack 0, doff 10, SYN, win 64240
  '0000' + '0000' + // checksum (filled below), urgent
  '020405b4' + // MSS 1460
  '0402080a' + '000003e8' + '00000000' + // SACK-permitted, TS 1000/0
  '01030307'; // NOP, WS 7

describe('writing', () => {
  it('produces golden bytes for a Linux-style SYN (options in tcp_options_write order)', () => {
    const b = new Uint8Array(60);
    const o = new OptionsOut();
    o.mss = 1460;
    o.sackPermitted = true;
    o.timestamp = true;
    o.tsVal = 1000;
    o.tsEcr = 0;
    o.wscale = 7;
    expect(o.length).toBe(20);
    const n = writeOptions(b, 20, o);
    expect(n).toBe(20);
    writeHeader(b, { srcPort: 50000, dstPort: 80, seq: seq(100), ack: seq(0), flags: TcpFlag.SYN, window: 64240 }, 40);
    const want = Buffer.from(LINUX_SYN_HEX, 'hex');
    expect(hex(b.subarray(0, 40))).toBe(want.toString('hex'));
    setChecksum(b, 40, SRC, DST);
    // The checksum verifies: the sum over pseudo-header + segment is 0xffff.
    expect(internetSum(b.subarray(0, 40), pseudoHeaderSum(SRC, DST, 6, 40))).toBe(0xffff);
  });

  it('lays out timestamps + SACK blocks as NOP NOP TS, NOP NOP SACK', () => {
    const b = new Uint8Array(60);
    const o = new OptionsOut();
    o.timestamp = true;
    o.tsVal = 0x01020304;
    o.tsEcr = 0x05060708;
    o.sackCount = 2;
    o.sackBlocks[0]!.start = seq(10);
    o.sackBlocks[0]!.end = seq(20);
    o.sackBlocks[1]!.start = seq(0xfffffff0);
    o.sackBlocks[1]!.end = seq(5);
    expect(writeOptions(b, 0, o)).toBe(12 + 4 + 16);
    expect(hex(b.subarray(0, 32))).toBe(
      '0101080a0102030405060708' + '01010512' + '0000000a00000014' + 'fffffff000000005',
    );
  });

  it('SACK-permitted without timestamps is NOP NOP 04 02', () => {
    const b = new Uint8Array(8);
    const o = new OptionsOut();
    o.sackPermitted = true;
    expect(writeOptions(b, 0, o)).toBe(4);
    expect(hex(b.subarray(0, 4))).toBe('01010402');
  });
});

function segmentBytes(options: number[], flags = TcpFlag.SYN | TcpFlag.ACK, payload: number[] = []): Uint8Array {
  const optLen = Math.ceil(options.length / 4) * 4;
  const b = new Uint8Array(20 + optLen + payload.length);
  writeHeader(b, { srcPort: 1, dstPort: 2, seq: seq(0x11223344), ack: seq(0x55667788), flags, window: 512 }, 20 + optLen);
  b.set(options, 20);
  b.set(payload, 20 + optLen);
  setChecksum(b, b.length, SRC, DST);
  return b;
}

describe('decoding', () => {
  it('round trip: fields, options and payload', () => {
    const b = Buffer.from(LINUX_SYN_HEX, 'hex');
    const bytes = new Uint8Array(b);
    setChecksum(bytes, bytes.length, SRC, DST);
    const s = new Segment();
    expect(decodeSegment(bytes, SRC, DST, s)).toBeUndefined();
    expect([s.srcPort, s.dstPort, s.seq, s.ack, s.flags, s.window]).toEqual([50000, 80, 100, 0, TcpFlag.SYN, 64240]);
    expect([s.mss, s.wscale, s.sackPermitted, s.hasTimestamp, s.tsVal, s.tsEcr]).toEqual([1460, 7, true, true, 1000, 0]);
    expect(s.len).toBe(1);
  });

  it('the view validates once: short header, bad data offset', () => {
    expect(TcpHeaderView.parse(new Uint8Array(19))).toBe('short');
    const b = segmentBytes([]);
    b[12] = 0x40; // data offset 4 words < 5
    expect(TcpHeaderView.parse(b)).toBe('bad-offset');
    b[12] = 0xf0; // 60 bytes > segment
    expect(TcpHeaderView.parse(b)).toBe('bad-offset');
    const ok = TcpHeaderView.parse(segmentBytes([], TcpFlag.ACK, [1, 2, 3]));
    expect(ok).toBeInstanceOf(TcpHeaderView);
    const v = ok as TcpHeaderView;
    expect([v.srcPort, v.dstPort, v.seq, v.ack, v.headerLength, v.window]).toEqual([1, 2, 0x11223344, 0x55667788, 20, 512]);
    expect([...v.payload]).toEqual([1, 2, 3]);
  });

  it('a bad checksum is reported (MUST-3)', () => {
    const b = segmentBytes([], TcpFlag.ACK, [9, 9]);
    b[21]! ^= 1;
    expect(decodeSegment(b, SRC, DST, new Segment())).toBe('bad-checksum');
    // The pseudo-header is covered: the right bytes to the wrong address fail too.
    const good = segmentBytes([], TcpFlag.ACK, [9, 9]);
    expect(decodeSegment(good, SRC, DST + 1, new Segment())).toBe('bad-checksum');
  });

  it('unknown options are skipped by length (MUST-6), NOPs anywhere, any alignment (MUST-64)', () => {
    const s = new Segment();
    const b = segmentBytes([1, 0xfd, 4, 0xaa, 0xbb, 1, 2, 4, 0x05, 0xb4, 3, 3, 2, 0]);
    expect(decodeSegment(b, SRC, DST, s)).toBeUndefined();
    expect(s.mss).toBe(1460);
    expect(s.wscale).toBe(2);
  });

  it('EOL ends the list', () => {
    const s = new Segment();
    const b = segmentBytes([0, 2, 4, 5, 0xb4]);
    expect(decodeSegment(b, SRC, DST, s)).toBeUndefined();
    expect(s.mss).toBe(-1);
  });

  it('illegal option lengths make the segment malformed (MUST-7): 0, 1, or past the header', () => {
    for (const opts of [[0xfd, 0, 0, 0], [0xfd, 1, 0, 0], [2, 8, 0, 0], [1, 1, 1, 2]]) {
      expect(decodeSegment(segmentBytes(opts), SRC, DST, new Segment()), JSON.stringify(opts)).toBe('bad-option');
    }
  });

  it('a wrong length for a known option is ignored (Linux), not fatal', () => {
    const s = new Segment();
    expect(decodeSegment(segmentBytes([2, 3, 5, 1]), SRC, DST, s)).toBeUndefined();
    expect(s.mss).toBe(-1);
  });

  it('window scale above 14 is used as 14 (RFC 7323 2.3); MSS/WS only read from SYNs', () => {
    const s = new Segment();
    expect(decodeSegment(segmentBytes([3, 3, 20, 1]), SRC, DST, s)).toBeUndefined();
    expect(s.wscale).toBe(14);
    expect(decodeSegment(segmentBytes([3, 3, 5, 1, 2, 4, 5, 0xb4], TcpFlag.ACK), SRC, DST, s)).toBeUndefined();
    expect(s.wscale).toBe(-1);
    expect(s.mss).toBe(-1);
  });

  it('SACK blocks: up to 4, wrapping sequence numbers', () => {
    const s = new Segment();
    const blk = [5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9];
    expect(decodeSegment(segmentBytes([1, 1, ...blk], TcpFlag.ACK), SRC, DST, s)).toBeUndefined();
    expect(s.sacks()).toEqual([
      { start: 1, end: 2 },
      { start: 0xffffffff, end: 9 },
    ]);
    expect(s.sackList).toHaveLength(2);
  });
});
