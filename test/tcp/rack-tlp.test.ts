/**
 * RACK-TLP (RFC 8985) against a scripted peer on virtual time: the tail loss probe, time-based
 * loss marking (also of lost retransmissions), the reordering window and timer, and the
 * congestion response of a TLP episode. The connection is a passive open with SACK, MSS
 * 1000, a 100 ms handshake RTT (SRTT 100 ms, RTO 1 s) and the NewReno controller, so that
 * windows are easy to follow.
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/tcp/connection.js';
import { TcpHarness, type Seg } from '../helpers/tcp-peer.js';

const MSS = 1000;
const RTT = 100;
const fill = (n: number): Uint8Array => new Uint8Array(n).fill(0x52);

/** ESTABLISHED at t = RTT (the handshake took one RTT), rackTlp on unless told otherwise. */
function setup(rackTlp = true) {
  const h = new TcpHarness({ config: { rackTlp } });
  h.listen(8, { congestion: 'newreno' });
  h.peerSyn({ mss: MSS, sackPermitted: true });
  h.advance(RTT);
  h.send(h.seg());
  const conn = h.listener!.accept()! as Connection;
  conn.setHandler(h.rec);
  expect(conn.state).toBe('ESTABLISHED');
  expect(conn.info().srtt).toBe(RTT);
  const base = h.ourNxt;
  /** Sequence number of segment i of the data written after setup. */
  const b = (i: number): number => (base + i * MSS) >>> 0;
  /** Segment indices (relative to base) of what was sent. */
  const idx = (segs: Seg[]): number[] => segs.map((s) => ((s.seq - base) >>> 0) / MSS);
  return { h, conn, b, idx };
}

describe('Tail loss probe (RFC 8985 section 7)', () => {
  it('a lost tail is probed at 2*SRTT, and RACK repairs the rest without an RTO', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(10 * MSS));
    expect(h.drain()).toHaveLength(10); // t = 100
    // t = 200: the peer got segments 0-7; 8 and 9 are lost. The ACK restarts the PTO:
    // 2 * SRTT = 200 ms (two segments in flight: no delayed-ACK allowance).
    h.at(200);
    h.send(h.seg({ ack: b(8) }));
    h.expectNothing();
    h.at(399);
    h.expectNothing();
    // t = 400: the probe, a retransmission of the last segment (nothing new to send).
    h.at(400);
    h.expectSent({ seq: b(9), payload: fill(MSS) });
    expect(h.layer.stats().TCPLossProbes).toBe(1);
    // t = 500: the probe is SACKed. Segment 8 was sent before it and is older than
    // RACK.rtt: lost. Recovery starts and retransmits it at once.
    h.at(500);
    h.send(h.seg({ ack: b(8), sack: [[b(9), b(10)]] }));
    expect(idx(h.drain())).toEqual([8]);
    h.at(600);
    h.send(h.seg({ ack: b(10) }));
    h.advance(5000);
    h.expectNothing();
    const st = h.layer.stats();
    expect(st.TCPTimeouts).toBe(0);
    expect(st.TCPSackRecovery).toBe(1);
    expect(st.TCPRACKLossDetected).toBe(1);
    expect(conn.info().bytesInFlight).toBe(0);
  });

  it('with one segment in flight the PTO adds the peer\'s worst-case delayed ACK (200 ms)', () => {
    const { h, conn, b } = setup();
    conn.write(fill(10 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(9) })); // segment 9 lost: one segment in flight
    h.at(599);
    h.expectNothing();
    h.at(600); // 200 + 2 * 100 + 200
    h.expectSent({ seq: b(9) });
    h.send(h.seg({ ack: b(10) }));
    expect(h.layer.stats().TCPTimeouts).toBe(0);
  });

  it('probes with new data when the window allows, and at most once per flight', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(10 * MSS));
    h.drain();
    // The peer's window (10 segments) is full; more data waits for it.
    conn.write(fill(MSS));
    h.expectNothing();
    h.at(200);
    // ACK of 0-7 opens the window: segment 10 goes out with cwnd's leave.
    h.send(h.seg({ ack: b(8), window: 3 * MSS }));
    expect(idx(h.drain())).toEqual([10]);
    // Nothing more is acknowledged. At 2*SRTT the probe: no unsent data left, so the last segment.
    h.at(400);
    expect(idx(h.drain())).toEqual([10]);
    // No second probe: the RTO (1 s after the probe) is next.
    h.at(1399);
    h.expectNothing();
    h.at(1400);
    expect(idx(h.drain())).toEqual([8]);
    expect(h.layer.stats().TCPLossProbes).toBe(1);
    expect(h.layer.stats().TCPTimeouts).toBe(1);
  });

  it('a probe of new data: the next unsent segment, past cwnd', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(12 * MSS)); // IW 10: two segments wait for cwnd
    expect(h.drain()).toHaveLength(10);
    h.at(400); // no ACK at all: the probe at 100 + 2*SRTT + ... (PTO from the last send)
    expect(idx(h.drain())).toEqual([10]);
    h.send(h.seg({ ack: b(11) }));
    expect(h.layer.stats().TCPLossProbes).toBe(1);
    expect(h.layer.stats().TCPTimeouts).toBe(0);
  });

  it('rackTlp off: the same tail loss waits for the RTO', () => {
    const { h, conn, b } = setup(false);
    conn.write(fill(10 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(8) }));
    h.at(1199);
    h.expectNothing();
    h.at(1200);
    h.expectSent({ seq: b(8) });
    expect(h.layer.stats().TCPTimeouts).toBe(1);
    expect(h.layer.stats().TCPLossProbes).toBe(0);
  });
});

describe('TLP episode and congestion response (RFC 8985 7.4)', () => {
  it('a probe that repaired a loss reduces cwnd once, when an ACK goes beyond it', () => {
    const { h, conn, b } = setup();
    conn.write(fill(10 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(9) })); // segment 9 lost
    const cwnd = conn.info().cwnd;
    h.at(600);
    h.expectSent({ seq: b(9) }); // the probe
    // The ACK of the probe (no D-SACK): the loss is not certain yet — the original may
    // have arrived and the D-SACK be on its way.
    h.send(h.seg({ ack: b(10) }));
    expect(conn.info().cwnd).toBe(cwnd);
    // New data, and an ACK beyond TLP.end_seq without any D-SACK: the probe repaired a loss.
    conn.write(fill(4 * MSS));
    h.drain();
    h.at(700);
    h.send(h.seg({ ack: b(12) }));
    const st = h.layer.stats();
    expect(st.TCPLossProbeRecovery).toBe(1);
    expect(st.TCPSackRecovery).toBe(0);
    const reduced = conn.info();
    expect(reduced.ssthresh).toBeLessThan(cwnd);
    expect(reduced.cwnd).toBe(reduced.ssthresh);
    // Only once: more ACKs grow the window again (congestion avoidance).
    h.send(h.seg({ ack: b(14) }));
    expect(h.layer.stats().TCPLossProbeRecovery).toBe(1);
    expect(conn.info().cwnd).toBeGreaterThanOrEqual(reduced.cwnd);
  });

  it('a D-SACK for the probe shows it was redundant: no reduction', () => {
    const { h, conn, b } = setup();
    conn.write(fill(10 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(9) }));
    const cwnd = conn.info().cwnd;
    h.at(600);
    h.expectSent({ seq: b(9) });
    // The original arrives late, then the probe: ACK, then a duplicate with a D-SACK.
    h.send(h.seg({ ack: b(10) }));
    h.send(h.seg({ ack: b(10), sack: [[b(9), b(10)]] }));
    conn.write(fill(2 * MSS));
    h.drain();
    h.send(h.seg({ ack: b(12) }));
    expect(h.layer.stats().TCPLossProbeRecovery).toBe(0);
    expect(conn.info().cwnd).toBeGreaterThanOrEqual(cwnd);
  });

  it('losses RACK finds after the probe start one recovery, and the episode adds no second reduction', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(10 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(7) })); // 7, 8, 9 lost
    h.at(400);
    expect(idx(h.drain())).toEqual([9]); // probe
    h.at(500);
    h.send(h.seg({ ack: b(7), sack: [[b(9), b(10)]] }));
    const segs = idx(h.drain());
    expect(segs.slice(0, 2)).toEqual([7, 8]);
    const afterRecovery = conn.info().ssthresh;
    h.send(h.seg({ ack: b(10) }));
    conn.write(fill(2 * MSS));
    h.drain();
    h.send(h.seg({ ack: b(12) }));
    const st = h.layer.stats();
    expect(st.TCPSackRecovery).toBe(1);
    expect(st.TCPLossProbeRecovery).toBe(0);
    expect(conn.info().ssthresh).toBe(afterRecovery);
  });
});

describe('RACK loss detection (RFC 8985 section 6)', () => {
  it('a lost retransmission is detected when data sent after it is delivered, and sent again without an RTO', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(20 * MSS));
    expect(h.drain()).toHaveLength(10); // 0-9 at t = 100
    // t = 200: segment 0 lost; the peer SACKs 1-3: DupThresh segments SACKed, reo_wnd = 0.
    h.at(200);
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(4)]] }));
    expect(idx(h.drain())).toEqual([0]); // recovery, cwnd 5 segments; pipe 6: nothing new
    // The retransmission of 0 is lost too. SACKs of 4-9 (sent at 100) drain the pipe;
    // new data (10, 11, ...) goes out after the retransmission.
    const sent: number[] = [];
    for (let i = 5; i <= 10; i++) {
      h.at(200 + i);
      h.send(h.seg({ ack: b(0), sack: [[b(1), b(i)]] }));
      sent.push(...idx(h.drain()));
    }
    expect(sent).not.toContain(0); // 4-9 were sent before the retransmission: no verdict on it yet
    expect(sent[0]).toBe(10);
    // t = 310: segment 10 (sent at 206, after the retransmission at 200) is SACKed: the
    // retransmission is older than RACK.rtt (104 ms) and reo_wnd (0 in recovery): lost.
    h.at(310);
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(11)]] }));
    expect(idx(h.drain())).toContain(0);
    const st = h.layer.stats();
    expect(st.TCPLostRetransmit).toBe(1);
    expect(st.TCPTimeouts).toBe(0);
    expect(st.TCPSackRecovery).toBe(1); // still the same episode: one reduction
  });

  it('rackTlp off: the same lost retransmission waits for the RTO', () => {
    const { h, conn, b, idx } = setup(false);
    conn.write(fill(20 * MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(0), sack: [[b(1), b(4)]] }));
    expect(idx(h.drain())).toEqual([0]);
    const sent: number[] = [];
    for (let i = 5; i <= 11; i++) {
      h.at(200 + i);
      h.send(h.seg({ ack: b(0), sack: [[b(1), b(i)]] }));
      sent.push(...idx(h.drain()));
    }
    // The RTO, running since the first transmission at t = 100 (no ACK of new data since).
    h.at(1099);
    sent.push(...idx(h.drain()));
    expect(sent).not.toContain(0);
    h.at(1100);
    expect(idx(h.drain())).toEqual([0]);
    expect(h.layer.stats().TCPTimeouts).toBe(1);
  });

  it('reordering within reo_wnd (min_RTT / 4) triggers no retransmission', () => {
    const { h, conn, b, idx } = setup();
    // Warm-up: one segment delivered gives RACK.min_RTT = 100 ms, so reo_wnd = 25 ms.
    conn.write(fill(MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(1) }));
    conn.write(fill(8 * MSS)); // segments 1-8 at t = 200
    expect(h.drain()).toHaveLength(8);
    // t = 300: segment 2 SACKed before 1 (reordered, not lost).
    h.at(300);
    h.send(h.seg({ ack: b(1), sack: [[b(2), b(3)]] }));
    const sent = idx(h.drain());
    h.at(324);
    sent.push(...idx(h.drain()));
    // Segment 1 arrives 24 ms late, within reo_wnd; then the rest.
    h.send(h.seg({ ack: b(3) }));
    h.at(330);
    h.send(h.seg({ ack: b(9) }));
    h.at(2000);
    sent.push(...idx(h.drain()));
    expect(sent).not.toContain(1);
    const st = h.layer.stats();
    expect(st.RetransSegs).toBe(0);
    expect(st.TCPSackRecovery).toBe(0);
    expect((conn as Connection).rack!.reorderingSeen).toBe(true);
  });

  it('the reordering timer marks the hole lost at xmit_ts + RACK.rtt + reo_wnd', () => {
    const { h, conn, b, idx } = setup();
    conn.write(fill(MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(1) }));
    conn.write(fill(8 * MSS));
    h.drain();
    h.at(300);
    h.send(h.seg({ ack: b(1), sack: [[b(2), b(3)]] }));
    h.drain();
    // Segment 1 never comes: sent at 200, RACK.rtt = 100, reo_wnd = 25: lost at 325.
    h.at(324.9);
    expect(idx(h.drain())).not.toContain(1);
    h.at(325);
    expect(idx(h.drain())).toEqual([1]);
    const st = h.layer.stats();
    expect(st.TCPRACKReoTimeout).toBe(1);
    expect(st.TCPSackRecovery).toBe(1);
    expect(st.TCPTimeouts).toBe(0);
  });

  it('a D-SACK (a spurious retransmission) widens reo_wnd for the next round trips', () => {
    const { h, conn, b } = setup();
    conn.write(fill(MSS));
    h.drain();
    h.at(200);
    h.send(h.seg({ ack: b(1) }));
    const rack = (conn as Connection).rack!;
    expect(rack.reoWnd(conn as Connection)).toBe(25);
    conn.write(fill(4 * MSS));
    h.drain();
    h.at(300);
    h.send(h.seg({ ack: b(5), sack: [[b(1), b(2)]] })); // the peer reports a duplicate
    expect(h.layer.stats().TCPDSACKRecv).toBe(1);
    expect(rack.reoWndMult).toBe(2);
    expect(rack.reoWnd(conn as Connection)).toBe(50);
  });
});
