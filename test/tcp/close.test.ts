/**
 * Closing: RFC 9293 3.6 / 3.10.4 CLOSE / 3.10.7.4 FIN processing, every closing state,
 * simultaneous close, half-close, TIME-WAIT (MUST-13), orphaned FIN-WAIT-2 timeout.
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('active close', () => {
  it('ESTABLISHED: close() sends FIN -> FIN-WAIT-1; ACK of FIN -> FIN-WAIT-2; FIN -> TIME-WAIT', () => {
    const h = new TcpHarness();
    const conn = h.timeWait();
    expect(conn.state).toBe('TIME-WAIT');
  });

  it('TIME-WAIT lasts 2*MSL (MUST-13) then CLOSED with closed()', () => {
    const h = new TcpHarness();
    const conn = h.timeWait();
    h.rec.take();
    h.advance(59_999);
    expect(conn.state).toBe('TIME-WAIT');
    h.advance(1);
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['closed']);
    expect(h.layer.connections()).toHaveLength(0);
  });

  it('TIME-WAIT: "a retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout"', () => {
    const h = new TcpHarness();
    const conn = h.timeWait();
    h.advance(30_000);
    h.send(h.seg({ seq: h.peerNxt - 1, flags: 'FIN,ACK' }));
    h.expectSent({ flags: 'ACK', ack: h.peerNxt, seq: h.ourNxt });
    h.advance(59_999);
    expect(conn.state).toBe('TIME-WAIT');
    h.advance(1);
    expect(conn.state).toBe('CLOSED');
  });

  it('FIN-WAIT-1: FIN+ACK of our FIN together -> TIME-WAIT directly', () => {
    const h = new TcpHarness();
    const conn = h.finWait1();
    h.send(h.seg({ ack: h.ourNxt + 1, flags: 'FIN,ACK' }));
    h.expectSent({ flags: 'ACK', ack: h.peerNxt + 1, seq: h.ourNxt + 1 });
    expect(conn.state).toBe('TIME-WAIT');
  });

  it('simultaneous close: FIN-WAIT-1 + peer FIN -> CLOSING; ACK of our FIN -> TIME-WAIT', () => {
    const h = new TcpHarness();
    const conn = h.closing();
    h.send(h.seg({ ack: h.ourNxt + 1 }));
    expect(conn.state).toBe('TIME-WAIT');
  });

  it('queued data goes out before the FIN, and the FIN is retransmitted on timeout', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.write(enc('bye'));
    h.expectSent({ payload: 'bye' });
    conn.close();
    // Nagle holds nothing back at close: the FIN goes as soon as the window allows.
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt + 3 });
    h.advance(1000);
    // RTO: the earliest unacknowledged segment ("bye"), FIN with it.
    h.expectSent({ flags: 'FIN,PSH,ACK', seq: h.ourNxt, payload: 'bye' });
  });

  it('orphaned FIN-WAIT-2 ends after tcp_fin_timeout (Linux, 60 s)', () => {
    const h = new TcpHarness();
    const conn = h.finWait2();
    h.advance(59_999);
    expect(conn.state).toBe('FIN-WAIT-2');
    h.advance(1);
    expect(conn.state).toBe('CLOSED');
  });

  it('a FIN-WAIT-2 after shutdown("wr") (not orphaned) waits for the peer indefinitely', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.shutdown('wr');
    h.expectSent({ flags: 'FIN,ACK' });
    h.ourNxt++;
    h.send(h.seg());
    expect(conn.state).toBe('FIN-WAIT-2');
    h.advance(600_000);
    expect(conn.state).toBe('FIN-WAIT-2');
    // Half-close: data still flows to us (MAY-1).
    h.send(h.seg({ payload: 'late' }));
    expect(conn.readableLength).toBe(4);
  });

  it('write() after shutdown("wr") returns -1', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.shutdown('wr');
    expect(conn.write(enc('x'))).toBe(-1);
    expect(conn.writableLength).toBe(0);
  });

  it('close() with unread data sends RST (RFC 1122 SHLD-3, Linux TCPAbortOnClose)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ payload: 'unread' }));
    conn.close();
    h.expectSent({ flags: 'RST,ACK', seq: h.ourNxt, ack: h.peerNxt + 6 });
    expect(conn.state).toBe('CLOSED');
    expect(h.layer.stats().TCPAbortOnClose).toBe(1);
    expect(h.rec.take()).toEqual(['readable', 'closed']);
  });

  it('data arriving after close() draws RST (Linux TCPAbortOnData)', () => {
    const h = new TcpHarness();
    const conn = h.finWait2();
    h.send(h.seg({ payload: 'more' }));
    h.expectSent({ flags: 'RST,ACK' });
    expect(conn.state).toBe('CLOSED');
    expect(h.layer.stats().TCPAbortOnData).toBe(1);
  });

  it('abort() sends <SEQ=SND.NXT><CTL=RST> and enters CLOSED without error()', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.abort();
    h.expectSent({ flags: 'RST,ACK', seq: h.ourNxt });
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['closed']);
  });

  it('close() in SYN-SENT deletes the TCB (RFC 9293 3.10.4) without sending anything', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    conn.close();
    h.expectNothing();
    expect(conn.state).toBe('CLOSED');
    h.advance(10_000);
    h.expectNothing();
  });

  it('shutdown("wr") in SYN-SENT queues the FIN until ESTABLISHED', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    conn.shutdown('wr');
    h.send({ seq: 1000, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, srcPort: 80, dstPort: 50000 });
    h.peerNxt = 1001;
    const segs = h.drain();
    expect(segs.map((s) => s.flags)).toEqual(['FIN,ACK']);
    expect(conn.state).toBe('FIN-WAIT-1');
  });
});

describe('passive close', () => {
  it('FIN -> CLOSE-WAIT, readable EOF; close() -> LAST-ACK; ACK -> CLOSED', () => {
    const h = new TcpHarness();
    const conn = h.closeWait();
    expect(conn.eof).toBe(true);
    expect(h.rec.take()).toEqual(['readable']);
    conn.close();
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt });
    expect(conn.state).toBe('LAST-ACK');
    h.send(h.seg({ ack: h.ourNxt + 1 }));
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['closed']);
  });

  it('half-close: in CLOSE-WAIT we can still send data', () => {
    const h = new TcpHarness();
    const conn = h.closeWait();
    expect(conn.write(enc('reply'))).toBe(5);
    h.expectSent({ payload: 'reply', ack: h.peerNxt });
  });

  it('a FIN ahead of missing data waits for the hole to fill', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    const p = h.peerNxt;
    h.send(h.seg({ seq: p + 3, flags: 'FIN,ACK', payload: 'def' }));
    h.expectSent({ flags: 'ACK', ack: p });
    expect(conn.state).toBe('ESTABLISHED');
    h.send(h.seg({ seq: p, payload: 'abc' }));
    h.expectSent({ flags: 'ACK', ack: p + 7 });
    expect(conn.state).toBe('CLOSE-WAIT');
    expect(conn.readableLength).toBe(6);
    expect(conn.eof).toBe(false);
    conn.read(new Uint8Array(6));
    expect(conn.eof).toBe(true);
  });

  it('LAST-ACK: the FIN is retransmitted until ACKed', () => {
    const h = new TcpHarness();
    const conn = h.lastAck();
    h.advance(1000);
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt });
    h.advance(2000);
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt });
    h.send(h.seg({ ack: h.ourNxt + 1 }));
    expect(conn.state).toBe('CLOSED');
  });
});
