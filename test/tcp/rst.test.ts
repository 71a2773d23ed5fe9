/**
 * Reset processing (RFC 9293 3.5.3, 3.10.7.4 "second, check the RST bit") in every state,
 * with the RFC 5961 3.2 rules: an RST exactly at RCV.NXT resets, in the window draws a
 * challenge ACK, outside is dropped silently.
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

describe('RST at RCV.NXT, per state', () => {
  it('ESTABLISHED -> CLOSED with ECONNRESET ("connection reset"), EstabResets counted', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ flags: 'RST' }));
    h.expectNothing();
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ECONNRESET', 'closed']);
    expect(conn.takeError()).toBe('ECONNRESET');
    expect(conn.takeError()).toBeUndefined();
    const st = h.layer.stats();
    expect(st.EstabResets).toBe(1);
    expect(st.CurrEstab).toBe(0);
  });

  it('CLOSE-WAIT -> CLOSED with ECONNRESET', () => {
    const h = new TcpHarness();
    const conn = h.closeWait();
    h.rec.take();
    h.send(h.seg({ flags: 'RST' }));
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ECONNRESET', 'closed']);
  });

  it('FIN-WAIT-1 and FIN-WAIT-2 -> CLOSED with ECONNRESET', () => {
    for (const fixture of ['finWait1', 'finWait2'] as const) {
      const h = new TcpHarness();
      const conn = h[fixture]();
      h.send(h.seg({ flags: 'RST' }));
      expect(conn.state).toBe('CLOSED');
      expect(h.rec.take()).toContain('error:ECONNRESET');
    }
  });

  it('CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return" (no error)', () => {
    for (const fixture of ['closing', 'lastAck', 'timeWait'] as const) {
      const h = new TcpHarness();
      const conn = h[fixture]();
      h.rec.take();
      h.send(h.seg({ flags: 'RST' }));
      expect(conn.state, fixture).toBe('CLOSED');
      expect(h.rec.take()).toEqual(['closed']);
    }
  });

  it('SYN-RECEIVED of an active open (simultaneous open) -> ECONNREFUSED', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: 1000, ack: 0, flags: 'SYN', srcPort: 80, dstPort: 50000 });
    h.drain();
    h.send({ seq: 1001, ack: 0, flags: 'RST', srcPort: 80, dstPort: 50000 });
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ECONNREFUSED', 'closed']);
  });
});

describe('RFC 5961 section 3: blind reset protection', () => {
  it('"If the RST bit is set and the sequence number is outside the current receive window, silently drop"', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ flags: 'RST', seq: h.peerNxt + 70_000 }));
    h.send(h.seg({ flags: 'RST', seq: h.peerNxt - 1 }));
    h.expectNothing();
    expect(conn.state).toBe('ESTABLISHED');
  });

  it('in the window but not RCV.NXT: challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, connection kept', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ flags: 'RST', seq: h.peerNxt + 100 }));
    h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: h.peerNxt });
    expect(conn.state).toBe('ESTABLISHED');
    expect(h.layer.stats().TCPChallengeACK).toBe(1);
  });

  it('data that arrived before the RST stays readable after error() and closed() (as on Linux)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.send(h.seg({ payload: 'last words' }));
    h.peerNxt += 10;
    h.send(h.seg({ flags: 'RST' }));
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['readable', 'error:ECONNRESET', 'closed']);
    const b = new Uint8Array(64);
    expect(new TextDecoder().decode(b.subarray(0, conn.read(b)))).toBe('last words');
    expect(conn.readableLength).toBe(0);
    expect(h.layer.connections()).toHaveLength(0);
  });

  it('an RST in a zero window at RCV.NXT is still processed (MUST-66)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460 }, { recvBufferSize: 100 });
    h.send(h.seg({ payload: new Uint8Array(100) }));
    h.advance(40);
    h.expectSent({ window: 0 });
    h.peerNxt += 100;
    h.send(h.seg({ flags: 'RST' }));
    expect(conn.state).toBe('CLOSED');
  });
});
