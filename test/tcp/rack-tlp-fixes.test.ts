/**
 * RACK-TLP (RFC 8985) regressions found in review, against a scripted peer on virtual time
 * (same setup as rack-tlp.test.ts: passive open with SACK, MSS 1000, SRTT 100 ms, RTO 1 s,
 * NewReno).
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/tcp/connection.js';
import { TcpHarness, type Seg } from '../helpers/tcp-peer.js';

const MSS = 1000;
const RTT = 100;
const fill = (n: number): Uint8Array => new Uint8Array(n).fill(0x52);

function setup() {
  const h = new TcpHarness({ config: { rackTlp: true } });
  h.listen(8, { congestion: 'newreno' });
  h.peerSyn({ mss: MSS, sackPermitted: true });
  h.advance(RTT);
  h.send(h.seg());
  const conn = h.listener!.accept()! as Connection;
  conn.setHandler(h.rec);
  expect(conn.state).toBe('ESTABLISHED');
  const base = h.ourNxt;
  const b = (i: number): number => (base + i * MSS) >>> 0;
  const idx = (segs: Seg[]): number[] => segs.map((s) => ((s.seq - base) >>> 0) / MSS);
  return { h, conn, b, idx };
}

describe('RACK.fack and reordering detection (RFC 8985 6.2 step 3)', () => {
  it('the first cumulative ACK of a whole flight is no reordering', () => {
    const { h, conn, b } = setup();
    conn.write(fill(4 * MSS));
    expect(h.drain()).toHaveLength(4);
    h.at(200);
    // All four segments in one cumulative ACK: delivered in order.
    h.send(h.seg({ ack: b(4) }));
    expect(conn.rack!.reorderingSeen).toBe(false);
  });

  it('so with DupThresh segments SACKed the hole is retransmitted at once (reo_wnd = 0), not after reo_wnd', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(4 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(4) })); // RACK.rtt = min_RTT = 100 ms
    conn.write(fill(8 * MSS)); // segments 4-11 at t = 200
    expect(h.drain()).toHaveLength(8);
    // t = 300: segment 4 is missing, 5-7 SACKed: "If RACK.reordering_seen is FALSE: ... Else if
    // RACK.segs_sacked >= DupThresh: Return 0" -- segment 4 (sent at 200, 200 + 100 + 0 <= 300)
    // is lost now.
    h.at(300);
    h.send(h.seg({ ack: b(4), sack: [[b(5), b(8)]] }));
    expect(idx(h.drain())).toEqual([4]);
    expect(h.layer.stats().TCPSackRecovery).toBe(1);
    expect(h.layer.stats().TCPRACKReoTimeout).toBe(0);
  });
});

describe('PTO arming around recovery (RFC 8985 7.2)', () => {
  it('the ACK that ends fast recovery arms the PTO for what is still in flight', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(14 * MSS));
    expect(h.drain()).toHaveLength(10); // 0-9 at t = 100
    // t = 200: segment 0 lost, 1-3 SACKed: RACK marks it, recovery retransmits it.
    h.at(200);
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(4)]] }));
    expect(idx(h.drain())).toEqual([0]);
    // SACKs of 4-9 drain the pipe: the rest of the data (10-13) goes out in recovery.
    const sent: number[] = [];
    for (let i = 5; i <= 10; i++) {
      h.at(200 + i);
      h.send(h.seg({ ack: b(0), sack: [[b(1), b(i)]] }));
      sent.push(...idx(h.drain()));
    }
    expect(sent).toEqual([10, 11, 12, 13]);
    // t = 300: the retransmission of 0 arrives: ACK of 0-9 ends the episode (RecoveryPoint = 10).
    // Segments 10-13 are lost. Nothing new is left to send: only the PTO can save an RTO.
    h.at(300);
    h.send(h.seg({ ack: b(10) }));
    expect(h.drain()).toEqual([]);
    expect(conn.recovery.inRecovery).toBe(false);
    const rto = conn.rtxDeadline;
    h.at(rto - 1);
    const probe = idx(h.drain());
    expect(probe, 'a loss probe before the RTO').toEqual([13]);
    expect(h.layer.stats().TCPLossProbes).toBe(1);
    expect(h.layer.stats().TCPTimeouts).toBe(0);
  });
});

describe('RACK_sent_after with equal clock readings (RFC 8985 6.2 step 2, section 4)', () => {
  it('a retransmission sent in the same millisecond as, but after, new data is not "sent before" it', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(4 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(4) })); // RACK.rtt = min_RTT = 100; cwnd 12
    conn.write(fill(16 * MSS));
    expect(idx(h.drain())).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]); // at t = 200
    // t = 300, two ACKs in the same millisecond. The first SACKs segment 5: segment 4 is
    // within reo_wnd (25 ms) and the freed window sends new data, segment 16.
    h.at(300);
    h.send(h.seg({ ack: b(4), sack: [[b(5), b(6)]] }));
    expect(idx(h.drain())).toEqual([16]);
    // The second SACKs 5-8: DupThresh segments SACKed, reo_wnd = 0: segment 4 is lost and is
    // retransmitted -- after segment 16, on the same clock reading.
    h.send(h.seg({ ack: b(4), sack: [[b(5), b(9)]] }));
    expect(idx(h.drain())).toContain(4);
    // t = 400: segment 16 (sent before the retransmission) is SACKed first. The retransmission
    // of 4 was sent after it, so RACK has no verdict on it yet: no second retransmission.
    h.at(400);
    h.send(h.seg({ ack: b(4), sack: [[b(5), b(17)]] }));
    expect(idx(h.drain())).not.toContain(4);
    expect(h.layer.stats().TCPLostRetransmit).toBe(0);
    h.send(h.seg({ ack: b(17) }));
    expect(h.layer.stats().TCPLostRetransmit).toBe(0);
  });
});
