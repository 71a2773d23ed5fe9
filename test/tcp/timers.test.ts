/**
 * Retransmission timer (RFC 6298, RFC 9293 3.8.1 / 3.8.3), Karn's algorithm (MUST-18),
 * RTT from timestamps (RFC 7323 4), the loss window after a timeout (RFC 5681 3.1).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const fill = (n: number): Uint8Array => new Uint8Array(n).fill(0x41);

describe('RFC 6298 retransmission timer', () => {
  it('sent at 1000, nothing at 1050, resent at 2000, then 4000, 8000 (5.4-5.6: back off)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    h.at(1000);
    conn.write(fill(100));
    h.expectSent({ seq: h.ourNxt, payload: fill(100) });
    h.at(1050);
    h.expectNothing();
    h.at(1999);
    h.expectNothing();
    h.at(2000);
    h.expectSent({ seq: h.ourNxt, payload: fill(100) });
    h.at(3999);
    h.expectNothing();
    h.at(4000);
    h.expectSent({ seq: h.ourNxt });
    h.at(8000);
    h.expectSent({ seq: h.ourNxt });
    expect(conn.info().retransmits).toBe(3);
    expect(h.layer.stats().TCPTimeouts).toBe(3);
    expect(h.layer.stats().RetransSegs).toBe(3);
  });

  it('5.2: all data acknowledged turns the timer off; 5.3: new data ACKed restarts it', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 100 });
    h.at(1000);
    conn.write(fill(200));
    h.drain();
    h.at(1800);
    h.send(h.seg({ ack: h.ourNxt + 100 }));
    // Restarted at 1800: no retransmission at 2000, one at 2800 (RTO 1 s).
    h.at(2500);
    h.expectNothing();
    h.at(2800);
    h.expectSent({ seq: h.ourNxt + 100 });
    h.send(h.seg({ ack: h.ourNxt + 200 }));
    h.advance(100_000);
    h.expectNothing();
  });

  it('the connection fails with ETIMEDOUT after retries2 retransmissions (MUST-20); no RST (Linux)', () => {
    const h = new TcpHarness({ config: { retries2: 3 } });
    const { conn } = h.established();
    conn.write(fill(10));
    h.drain();
    h.advance(1000 + 2000 + 4000);
    expect(h.drain()).toHaveLength(3);
    h.advance(7999);
    expect(conn.state).toBe('ESTABLISHED');
    h.advance(1);
    expect(conn.state).toBe('CLOSED');
    h.expectNothing();
    expect(h.rec.take()).toEqual(['error:ETIMEDOUT', 'closed']);
    expect(h.layer.stats().TCPAbortOnTimeout).toBe(1);
  });

  it('an RTT sample updates SRTT/RTTVAR (2.2/2.3); RTO floors at minRto', () => {
    const h = new TcpHarness({ config: { minRto: 200 } });
    const { conn } = h.established();
    h.at(1000);
    conn.write(fill(10));
    h.drain();
    // The handshake gave a first sample of 0 ms (SYN-ACK and ACK at the same instant), so
    // RTO = max(minRto, SRTT + 4*RTTVAR) = 200 ms.
    expect(conn.info().rto).toBe(200);
    h.at(1150);
    h.send(h.seg({ ack: h.ourNxt + 10 }));
    const i = conn.info();
    expect(i.srtt).toBeCloseTo(0.875 * 0 + 0.125 * 150, 6);
    expect(i.rttvar).toBeCloseTo(0.75 * 0 + 0.25 * 150, 6);
    expect(i.rto).toBeCloseTo(Math.max(200, i.srtt + 4 * i.rttvar), 6);
  });

  it("Karn's algorithm: no RTT sample from an ACK of retransmitted data (MUST-18)", () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    const before = conn.info();
    h.at(1000);
    conn.write(fill(10));
    h.drain();
    h.at(2000);
    h.expectSent({ seq: h.ourNxt });
    h.at(2500);
    h.send(h.seg({ ack: h.ourNxt + 10 }));
    const after = conn.info();
    expect(after.srtt).toBe(before.srtt);
    expect(after.rttvar).toBe(before.rttvar);
    // The backoff is cleared by the ACK of new data.
    expect(after.rto).toBe(1000);
  });

  it('with timestamps the RTT comes from TSecr, even for retransmitted data (RFC 7323 4.1)', () => {
    const h = new TcpHarness({ config: { minRto: 100 } });
    const { conn, synAck } = h.established({ mss: 1460, ts: [1, 0] });
    void synAck;
    h.at(1000);
    conn.write(fill(10));
    const s = h.expectSent({ seq: h.ourNxt });
    h.at(1400);
    h.send(h.seg({ ack: h.ourNxt + 10, ts: [10, s.ts![0]] }));
    const i = conn.info();
    expect(i.srtt).toBeCloseTo(0.875 * 0 + 0.125 * 400, 6);
  });

  it('RFC 6298 5.7: after a SYN timeout the RTO is 3 s once data flows', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.advance(1000);
    h.expectSent({ flags: 'SYN' });
    h.send({ seq: 1000, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, srcPort: 80, dstPort: 50000 });
    h.peerNxt = 1001;
    h.drain();
    expect(conn.info().rto).toBe(3000);
    conn.write(fill(10));
    h.drain();
    h.advance(2999);
    h.expectNothing();
    h.advance(1);
    h.expectSent({ seq: h.ourNxt });
  });

  it('RFC 5681 3.1: after a timeout cwnd = 1 SMSS and ssthresh = FlightSize/2; the go-back resends in slow start', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { congestion: 'newreno' });
    conn.write(fill(10_000));
    expect(h.drain()).toHaveLength(10); // IW = 10 segments (RFC 6928)
    h.advance(1000);
    h.expectSent({ seq: h.ourNxt, payload: fill(1000) });
    const i = conn.info();
    expect(i.cwnd).toBe(1000);
    expect(i.ssthresh).toBe(5000);
    // The ACK of the first segment: slow start sends the next two (go-back-N).
    h.send(h.seg({ ack: h.ourNxt + 1000 }));
    const segs = h.drain();
    expect(segs.map((s) => s.seq - h.ourNxt)).toEqual([1000, 2000]);
  });

  it('delayed ACK timer is under 0.5 s (MUST-40)', () => {
    const h = new TcpHarness({ config: { delayedAckMs: 200 } });
    h.established();
    h.send(h.seg({ payload: 'x' }));
    h.advance(199);
    h.expectNothing();
    h.advance(1);
    h.expectSent({ ack: h.peerNxt + 1 });
  });
});

describe('after a go-back', () => {
  it('pure ACKs carry SND.MAX (what the peer has seen), not the rewound SND.NXT', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 });
    conn.write(fill(3000));
    h.drain();
    h.advance(1000); // RTO: SND.NXT goes back to SND.UNA + 1 segment
    h.expectSent({ seq: h.ourNxt });
    // Data from the peer: our ACK must be acceptable to it (SEQ = SND.MAX = ourNxt + 3000).
    h.send(h.seg({ payload: 'x' }));
    h.advance(40);
    h.expectSent({ flags: 'ACK', seq: h.ourNxt + 3000, ack: h.peerNxt + 1 });
  });
});

describe('RFC 5681 4.1: restarting after idle', () => {
  it('after an idle period longer than the RTO, cwnd falls back to the initial window', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { congestion: 'newreno' });
    // Grow cwnd in slow start: 10 segments, all ACKed.
    conn.write(fill(10_000));
    expect(h.drain()).toHaveLength(10);
    for (let i = 1; i <= 10; i++) h.send(h.seg({ ack: h.ourNxt + i * 1000 }));
    h.drain();
    h.ourNxt += 10_000;
    // (RFC 7661 stops the growth once the window is less than half used.)
    expect(conn.info().cwnd).toBeGreaterThan(10_000);
    h.advance(5000); // idle > RTO
    conn.write(fill(30_000));
    expect(h.drain()).toHaveLength(10); // IW = 10 segments again
  });
});
