/**
 * Segment validation at the layer and option handling in a connection: checksum and
 * malformed options (counted and dropped), MSS only on SYNs (MUST-65), PAWS (RFC 7323 5.3).
 */
import { describe, expect, it } from 'vitest';
import { setChecksum } from '../../src/tcp/header.js';
import { buildSegment, LOCAL, REMOTE, TcpHarness } from '../helpers/tcp-peer.js';

describe('validation at the layer', () => {
  it('a corrupted segment is dropped and counted in InErrs and InCsumErrors', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    const b = buildSegment(h.seg({ payload: 'data' }), REMOTE, LOCAL);
    b[b.length - 1]! ^= 0x20;
    h.sendRaw(b);
    h.advance(100);
    h.expectNothing();
    expect(conn.readableLength).toBe(0);
    const st = h.layer.stats();
    expect(st.InErrs).toBe(1);
    expect(st.InCsumErrors).toBe(1);
  });

  it('a bad option length drops the segment (counted), the connection is unaffected', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    const b = buildSegment(h.seg({ payload: 'data', ts: [1, 2] }), REMOTE, LOCAL);
    // Corrupt the TS option length (byte 23: NOP NOP 08 [0a]) and fix the checksum.
    b[23] = 0x30;
    b[16] = 0;
    b[17] = 0;
    setChecksum(b, b.length, REMOTE, LOCAL);
    h.sendRaw(b);
    expect(conn.readableLength).toBe(0);
    expect(h.layer.stats().DropBadOption).toBe(1);
    expect(h.layer.stats().InErrs).toBe(1);
  });

  it('segments to or from broadcast/multicast addresses are discarded silently (MUST-57, MUST-63)', () => {
    const h = new TcpHarness();
    h.listen();
    h.send({ seq: 1, ack: 0, flags: 'SYN' }, 0xe0000001, LOCAL);
    h.send({ seq: 1, ack: 0, flags: 'SYN' }, REMOTE, 0xffffffff);
    h.expectNothing();
    expect(h.layer.stats().DropBadAddress).toBe(2);
  });

  it('the MSS option is sent only in SYN segments (MUST-65)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, sackPermitted: true, ts: [1, 0], wscale: 1 });
    conn.write(new Uint8Array(10));
    const s = h.expectSent();
    expect(s.mss).toBeUndefined();
    expect(s.wscale).toBeUndefined();
    expect(s.sackPermitted).toBeUndefined();
    expect(s.ts).toBeDefined();
  });
});

describe('PAWS (RFC 7323 5.3)', () => {
  it('R1: a segment with TSval older than TS.Recent is acknowledged and dropped (PAWSEstab)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, ts: [1000, 0] });
    h.send(h.seg({ payload: 'new', ts: [2000, 0] }));
    h.advance(40);
    h.drain();
    h.peerNxt += 3;
    h.send(h.seg({ payload: 'old', ts: [1500, 0] }));
    h.expectSent({ flags: 'ACK', ack: h.peerNxt });
    expect(conn.readableLength).toBe(3);
    expect(h.layer.stats().PAWSEstab).toBe(1);
  });

  it('TSval comparison is modulo 2^32 (a wrapped TSval is newer)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, ts: [0xfffffff0, 0] });
    h.send(h.seg({ payload: 'abc', ts: [5, 0] }));
    expect(conn.readableLength).toBe(3);
  });

  it('RST segments are exempt from PAWS', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, ts: [1000, 0] });
    h.send(h.seg({ flags: 'RST', ts: [1, 0] }));
    expect(conn.state).toBe('CLOSED');
  });

  it('R3: TS.Recent is taken only from segments at or below Last.ACK.sent (RFC 7323 4.3)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, ts: [1000, 0] });
    // Out of order (beyond RCV.NXT = Last.ACK.sent): TS.Recent stays 1001 (from the handshake ACK).
    h.send(h.seg({ seq: h.peerNxt + 10, payload: 'x', ts: [9000, 0] }));
    const dup = h.expectSent({ ack: h.peerNxt });
    expect(dup.ts?.[1]).toBe(1001);
    conn.write(new Uint8Array(1));
    expect(h.expectSent().ts?.[1]).toBe(1001);
  });

  it('segments without timestamps are still accepted after negotiation (Linux)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, ts: [1000, 0] });
    h.send(h.seg({ payload: 'plain' }));
    expect(conn.readableLength).toBe(5);
  });
});
