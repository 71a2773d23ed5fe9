/**
 * Fast retransmit / fast recovery: RFC 5681 3.2, NewReno (RFC 6582) without SACK, and
 * SACK-based loss recovery (RFC 6675) with it; limited transmit (RFC 3042).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const MSS = 1000;
const fill = (n: number): Uint8Array => new Uint8Array(n).fill(0x43);

function flight(h: TcpHarness, segments: number, sack: boolean) {
  const { conn } = h.established(sack ? { mss: MSS, sackPermitted: true } : { mss: MSS }, { congestion: 'newreno' });
  conn.write(fill(segments * MSS));
  const sent = h.drain();
  return { conn, sent, base: h.ourNxt };
}

describe('NewReno (RFC 6582)', () => {
  it('the third duplicate ACK triggers fast retransmit; ssthresh = max(FlightSize/2, 2*SMSS)', () => {
    const h = new TcpHarness();
    const { conn, sent, base } = flight(h, 10, false);
    expect(sent).toHaveLength(10);
    // Segment 1 (base) lost; the peer ACKs nothing new for segments 2, 3, 4.
    h.send(h.seg({ ack: base }));
    // RFC 3042 limited transmit: no new data is left to send here (all 10 in flight).
    h.expectNothing();
    h.send(h.seg({ ack: base }));
    h.expectNothing();
    h.send(h.seg({ ack: base }));
    h.expectSent({ seq: base, payload: fill(MSS) });
    const i = conn.info();
    expect(i.ssthresh).toBe(5000);
    expect(i.cwnd).toBe(5000);
    const st = h.layer.stats();
    expect(st.TCPRenoRecovery).toBe(1);
    expect(st.TCPFastRetrans).toBe(1);
  });

  it('a duplicate ACK needs the same window, no data, no SYN/FIN (RFC 5681 section 2)', () => {
    const h = new TcpHarness();
    const { base } = flight(h, 10, false);
    h.send(h.seg({ ack: base, window: 60000 })); // window changed: not a duplicate
    h.send(h.seg({ ack: base, payload: 'x' })); // carries data
    h.send(h.seg({ ack: base, window: 60000 }));
    h.drain();
    expect(h.layer.stats().TCPRenoRecovery).toBe(0);
  });

  it('limited transmit (RFC 3042): the first two duplicate ACKs each release one new segment', () => {
    const h = new TcpHarness();
    const { conn, base } = flight(h, 10, false);
    conn.write(fill(3 * MSS));
    h.expectNothing(); // cwnd (10 segments) is full
    h.send(h.seg({ ack: base }));
    h.expectSent({ seq: base + 10 * MSS });
    h.send(h.seg({ ack: base }));
    h.expectSent({ seq: base + 11 * MSS });
  });

  it('partial ACKs retransmit the next hole; the full ACK ends recovery with cwnd = ssthresh', () => {
    const h = new TcpHarness();
    const { conn, base } = flight(h, 10, false);
    // Segments 1 and 5 lost.
    for (let i = 0; i < 3; i++) h.send(h.seg({ ack: base }));
    h.expectSent({ seq: base });
    // Partial ACK up to the second hole.
    h.send(h.seg({ ack: base + 4 * MSS }));
    const segs = h.drain();
    expect(segs[0]!.seq).toBe(base + 4 * MSS);
    expect(conn.info().ssthresh).toBe(5000);
    // Full ACK (covers everything sent when recovery began).
    h.send(h.seg({ ack: base + 10 * MSS }));
    expect(conn.info().cwnd).toBe(5000);
    expect(h.layer.stats().TCPRenoRecovery).toBe(1);
  });

  it('"recover": duplicate ACKs below the recovery point after an RTO do not reduce the window again', () => {
    const h = new TcpHarness();
    const { conn, base } = flight(h, 10, false);
    h.advance(1000); // RTO: recover = highest sent
    h.drain();
    const ss = conn.info().ssthresh;
    for (let i = 0; i < 5; i++) h.send(h.seg({ ack: base }));
    h.drain();
    expect(h.layer.stats().TCPRenoRecovery).toBe(0);
    expect(conn.info().ssthresh).toBe(ss);
  });
});

describe('SACK loss recovery (RFC 6675)', () => {
  it('retransmits only the holes the scoreboard shows, as the pipe allows', () => {
    const h = new TcpHarness();
    const { conn, base } = flight(h, 10, true);
    conn.write(fill(5 * MSS));
    h.expectNothing();
    // Segments 1 and 4 lost: the peer SACKs 2-3, then 5, 5-7, 5-9.
    const b = (i: number): number => base + i * MSS;
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(3)]] }));
    // RFC 6675 5 (3): limited transmit by pipe: 2 SACKed segments left the network, so
    // cwnd - pipe releases 2 new segments.
    expect(h.drain().map((s) => (s.seq - base) / MSS)).toEqual([10, 11]);
    // 3 segments SACKed above the hole: IsLost(HighACK+1) starts recovery (RFC 6675 5 (2)) and
    // retransmits the first hole; ssthresh = FlightSize/2 = 6000.
    h.send(h.seg({ ack: b(0), sack: [[b(4), b(5)], [b(1), b(3)]] }));
    expect(h.drain().map((s) => (s.seq - base) / MSS)).toEqual([0]);
    expect(conn.info().ssthresh).toBe(6000);
    // pipe = 1 (rtx) + 5 (not lost, 7..11) = cwnd: nothing more yet.
    h.send(h.seg({ ack: b(0), sack: [[b(4), b(7)], [b(1), b(3)]] }));
    h.expectNothing();
    // More SACKs drain the pipe; NextSeg rule 1: the lost hole 3.
    h.send(h.seg({ ack: b(0), sack: [[b(4), b(9)], [b(1), b(3)]] }));
    const segs = h.drain().map((s) => (s.seq - base) / MSS);
    expect(segs[0]).toBe(3);
    for (const sacked of [1, 2, 4, 5, 6, 7, 8]) expect(segs).not.toContain(sacked);
    expect(h.layer.stats().TCPSackRecovery).toBe(1);
  });

  it('enters recovery on IsLost(HighACK+1) before three duplicate ACKs (RFC 6675 5 (2))', () => {
    const h = new TcpHarness();
    const { base } = flight(h, 10, true);
    const b = (i: number): number => base + i * MSS;
    // One ACK SACKing 3 segments above the hole: more than (DupThresh-1)*SMSS SACKed.
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(4)]] }));
    const segs = h.drain();
    expect(segs.map((s) => s.seq)).toContain(b(0));
    expect(h.layer.stats().TCPSackRecovery).toBe(1);
  });

  it('an ACK at or above the recovery point ends recovery (cc.onRecoveryEnd: cwnd = ssthresh)', () => {
    const h = new TcpHarness();
    const { conn, base } = flight(h, 10, true);
    const b = (i: number): number => base + i * MSS;
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(4)]] }));
    h.drain();
    h.send(h.seg({ ack: b(10) }));
    expect(conn.info().cwnd).toBe(conn.info().ssthresh);
    // A new loss later starts a new recovery.
    conn.write(fill(10 * MSS));
    h.drain();
    h.send(h.seg({ ack: b(10), sack: [[b(11), b(14)]] }));
    expect(h.layer.stats().TCPSackRecovery).toBe(2);
  });

  it('D-SACK blocks are counted (RFC 2883) and do not mark holes', () => {
    const h = new TcpHarness();
    const { base } = flight(h, 4, true);
    h.send(h.seg({ ack: base + 2 * MSS, sack: [[base, base + MSS]] }));
    expect(h.layer.stats().TCPDSACKRecv).toBe(1);
    expect(h.layer.stats().TCPSackRecovery).toBe(0);
  });

  it('after an RTO, SACKed data is not resent by the go-back', () => {
    const h = new TcpHarness();
    const { base } = flight(h, 6, true);
    const b = (i: number): number => base + i * MSS;
    h.advance(1000);
    h.expectSent({ seq: b(0) });
    // The peer holds 2-3 (SACKed after the timeout), then gets the retransmitted 0.
    h.send(h.seg({ ack: b(0), sack: [[b(2), b(4)]] }));
    h.expectNothing();
    h.send(h.seg({ ack: b(1), sack: [[b(2), b(4)]] }));
    // Slow start (cwnd 2): segment 1, then the go-back skips the SACKed 2-3 and sends 4.
    const segs = h.drain();
    expect(segs.map((s) => [(s.seq - base) / MSS, s.payload.length])).toEqual([
      [1, MSS],
      [4, MSS],
    ]);
  });
});
