/**
 * Data transfer in ESTABLISHED: segmentation by MSS, PSH, delayed ACKs (RFC 1122 4.2.3.2,
 * RFC 5681 4.2), Nagle (RFC 896), reassembly, SACK blocks in our ACKs (RFC 2018).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const fill = (n: number, v = 0x61): Uint8Array => new Uint8Array(n).fill(v);

describe('receiving', () => {
  it('in-order data is readable; one segment is ACKed after delayedAckMs (RFC 1122 4.2.3.2)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ flags: 'PSH,ACK', payload: 'hello' }));
    h.expectNothing();
    expect(h.rec.take()).toEqual(['readable']);
    expect(conn.readableLength).toBe(5);
    const buf = new Uint8Array(10);
    expect(conn.read(buf)).toBe(5);
    expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe('hello');
    h.advance(39);
    h.expectNothing();
    h.advance(1);
    h.expectSent({ flags: 'ACK', ack: h.peerNxt + 5, seq: h.ourNxt });
    expect(h.layer.stats().DelayedACKs).toBe(1);
  });

  it('"an ACK SHOULD be generated for at least every second full-sized segment" (RFC 5681 4.2)', () => {
    const h = new TcpHarness();
    h.established();
    h.send(h.seg({ payload: fill(1460) }));
    h.expectNothing();
    h.send(h.seg({ seq: h.peerNxt + 1460, payload: fill(1460) }));
    h.expectSent({ flags: 'ACK', ack: h.peerNxt + 2920 });
  });

  it('segments of one batch are acknowledged once at its end (MUST-58, MUST-59)', () => {
    const h = new TcpHarness();
    h.established();
    const segs = [0, 1, 2, 3, 4].map((i) => h.seg({ seq: h.peerNxt + i * 1460, payload: fill(1460) }));
    h.sendBatch(segs);
    h.expectSent({ flags: 'ACK', ack: h.peerNxt + 5 * 1460 });
  });

  it('out-of-order data is ACKed at once with a SACK block; filling the hole is ACKed at once', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, sackPermitted: true });
    const p = h.peerNxt;
    h.send(h.seg({ seq: p + 100, payload: fill(100) }));
    h.expectSent({ flags: 'ACK', ack: p, sack: [[p + 100, p + 200]] });
    h.send(h.seg({ seq: p + 300, payload: fill(50) }));
    // RFC 2018 4: the block with the latest segment first.
    h.expectSent({ flags: 'ACK', ack: p, sack: [[p + 300, p + 350], [p + 100, p + 200]] });
    expect(conn.readableLength).toBe(0);
    h.send(h.seg({ seq: p, payload: fill(100) }));
    h.expectSent({ flags: 'ACK', ack: p + 200, sack: [[p + 300, p + 350]] });
    expect(conn.readableLength).toBe(200);
    expect(h.layer.stats().TCPOFOQueue).toBe(2);
  });

  it('no SACK blocks unless SACK-permitted was negotiated', () => {
    const h = new TcpHarness();
    h.established();
    const p = h.peerNxt;
    h.send(h.seg({ seq: p + 100, payload: fill(100) }));
    const a = h.expectSent({ flags: 'ACK', ack: p });
    expect(a.sack).toBeUndefined();
  });

  it('a duplicate segment is ACKed at once; with SACK it is reported as D-SACK (RFC 2883)', () => {
    const h = new TcpHarness();
    h.established({ mss: 1460, sackPermitted: true });
    const p = h.peerNxt;
    h.send(h.seg({ payload: fill(100) }));
    h.advance(40);
    h.expectSent({ ack: p + 100 });
    h.send(h.seg({ payload: fill(100) }));
    h.expectSent({ flags: 'ACK', ack: p + 100, sack: [[p, p + 100]] });
  });

  it('data beyond the advertised window is trimmed (RFC 9293 3.10.7.4: only the new parts are processed)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460 }, { recvBufferSize: 1000 });
    const p = h.peerNxt;
    h.send(h.seg({ payload: fill(1500) }));
    expect(conn.readableLength).toBe(1000);
    h.advance(40);
    h.expectSent({ ack: p + 1000, window: 0 });
  });

  it('shutdown("rd") discards further input but keeps acknowledging it', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.shutdown('rd');
    h.send(h.seg({ payload: 'dropped' }));
    expect(conn.readableLength).toBe(0);
    expect(conn.eof).toBe(true);
    h.advance(40);
    h.expectSent({ ack: h.peerNxt + 7 });
  });
});

describe('sending', () => {
  it('write() segments by MSS, PSH on the last segment of the buffer (MUST-61)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 });
    expect(conn.write(fill(2500))).toBe(2500);
    h.expectSentAll([
      { flags: 'ACK', seq: h.ourNxt, payload: fill(1000) },
      { flags: 'ACK', seq: h.ourNxt + 1000, payload: fill(1000) },
      { flags: 'PSH,ACK', seq: h.ourNxt + 2000, payload: fill(500) },
    ]);
    expect(conn.info().bytesInFlight).toBe(2500);
  });

  it('Nagle (RFC 896): a small segment waits while data is unacknowledged; TCP_NODELAY sends it', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.write(enc('a'));
    h.expectSent({ flags: 'PSH,ACK', payload: 'a' });
    conn.write(enc('b'));
    conn.write(enc('c'));
    h.expectNothing();
    h.send(h.seg({ ack: h.ourNxt + 1 }));
    h.expectSent({ flags: 'PSH,ACK', seq: h.ourNxt + 1, payload: 'bc' });
    conn.setOptions({ noDelay: true });
    conn.write(enc('d'));
    h.expectSent({ payload: 'd', seq: h.ourNxt + 3 });
  });

  it('the send window limits data in flight; an ACK opening it releases more', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000, window: 1500 });
    conn.write(fill(4000));
    // 1000 fits; the 500 left in the window would be a short segment below half the largest
    // window seen (750): RFC 1122 4.2.3.4 sender SWS avoidance holds it.
    h.expectSent({ seq: h.ourNxt, payload: fill(1000) });
    h.send(h.seg({ ack: h.ourNxt + 1000, window: 3000 }));
    const segs = h.drain();
    expect(segs.map((s) => s.payload.length)).toEqual([1000, 1000, 1000]);
    expect(segs.map((s) => s.seq - h.ourNxt)).toEqual([1000, 2000, 3000]);
  });

  it('write() accepts what fits and signals writable() once space frees up', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { sendBufferSize: 2000 });
    expect(conn.write(fill(3000))).toBe(2000);
    expect(conn.writableLength).toBe(0);
    h.drain();
    h.send(h.seg({ ack: h.ourNxt + 1000 }));
    expect(h.rec.take()).toEqual(['writable']);
    expect(conn.writableLength).toBe(1000);
  });

  it('ACK of new data releases the buffer and counts bytesAcked', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.write(fill(300));
    h.drain();
    h.send(h.seg({ ack: h.ourNxt + 300 }));
    expect(conn.info().bytesAcked).toBe(300);
    expect(conn.info().bytesInFlight).toBe(0);
  });

  it('"If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment"', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ ack: h.ourNxt + 10, payload: 'zz' }));
    h.expectSent({ flags: 'ACK', ack: h.peerNxt, seq: h.ourNxt });
    expect(conn.readableLength).toBe(0);
  });

  it('URG is ignored safely: urgent octets arrive inline, a pointer past the data changes nothing (MUST-30 deviation)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ flags: 'URG,ACK', payload: 'ab', urgent: 1 }));
    h.send(h.seg({ seq: h.peerNxt + 2, flags: 'URG,PSH,ACK', payload: 'cd', urgent: 0xffff }));
    h.send(h.seg({ seq: h.peerNxt + 4, flags: 'URG,ACK', urgent: 500 })); // pure ACK with URG
    expect(conn.readableLength).toBe(4);
    const b = new Uint8Array(8);
    expect(new TextDecoder().decode(b.subarray(0, conn.read(b)))).toBe('abcd');
    expect(conn.state).toBe('ESTABLISHED');
  });

  it('timestamps: every segment carries TSval/TSecr; TS.Recent follows the peer (RFC 7323 4.3)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, ts: [100, 0] });
    h.send(h.seg({ payload: 'x', ts: [150, 0] }));
    conn.write(enc('y'));
    const s = h.expectSent({ payload: 'y' });
    expect(s.ts?.[1]).toBe(150);
  });
});
