/**
 * RFC 5961 ("Improving TCP's Robustness to Blind In-Window Attacks"): SYN in synchronized
 * states (section 4), ACK acceptability (section 5.2), challenge ACK throttling (section 7).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

describe('RFC 5961 section 4: SYN in a synchronized state', () => {
  it('"irrespective of the sequence number, TCP MUST send an ACK (challenge ACK)" and drop the SYN', () => {
    for (const off of [0, 100, -5000, 1_000_000]) {
      const h = new TcpHarness();
      const { conn } = h.established();
      h.send(h.seg({ flags: 'SYN', seq: h.peerNxt + off, ack: 0 }));
      h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: h.peerNxt });
      expect(conn.state).toBe('ESTABLISHED');
    }
  });

  it('also in CLOSE-WAIT and FIN-WAIT-2', () => {
    for (const fixture of ['closeWait', 'finWait2'] as const) {
      const h = new TcpHarness();
      const conn = h[fixture]();
      h.send(h.seg({ flags: 'SYN', ack: 0 }));
      h.expectSent({ flags: 'ACK', ack: h.peerNxt });
      expect(conn.state).not.toBe('CLOSED');
    }
  });
});

describe('RFC 5961 section 5.2: ACK acceptability', () => {
  it('SEG.ACK below SND.UNA - MAX.SND.WND: discard and send an ACK; data in the segment is not taken', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, window: 1000 });
    h.send(h.seg({ ack: h.ourNxt - 5000, payload: 'inject' }));
    h.expectSent({ flags: 'ACK', ack: h.peerNxt });
    expect(conn.readableLength).toBe(0);
    expect(h.layer.stats().TCPChallengeACK).toBe(1);
  });

  it('an old ACK within MAX.SND.WND is ignored but its data is processed', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, window: 1000 });
    conn.write(new Uint8Array(500));
    h.drain();
    h.send(h.seg({ ack: h.ourNxt + 500 }));
    h.send(h.seg({ ack: h.ourNxt + 100, payload: 'ok' }));
    expect(conn.readableLength).toBe(2);
  });
});

describe('RFC 5961 section 7: challenge ACK throttling', () => {
  it('at most challengeAckLimit challenge ACKs per second, stack-wide', () => {
    const h = new TcpHarness({ config: { challengeAckLimit: 3 } });
    h.established();
    for (let i = 0; i < 10; i++) h.send(h.seg({ flags: 'SYN', ack: 0 }));
    expect(h.drain()).toHaveLength(3);
    expect(h.layer.stats().TCPACKSkippedChallenge).toBe(7);
    h.advance(1000);
    h.drain();
    h.send(h.seg({ flags: 'SYN', ack: 0 }));
    expect(h.drain()).toHaveLength(1);
  });
});
