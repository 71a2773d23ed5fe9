import { describe, expect, it } from 'vitest';
import {
  createCongestionControl,
  INITIAL_SSTHRESH,
  initialWindow,
  NewReno,
  type CongestionControl,
} from '../../src/tcp/congestion/index.js';

const MSS = 1000;

/**
 * One round trip of a cwnd-limited sender on virtual time: the window's worth of segments
 * is ACKed `perAck` segments at a time, the ACKs spread evenly over the RTT; the sender
 * refills the window after every ACK, so FlightSize equals cwnd when each ACK arrives.
 * Returns the time at the end of the round and the number of ACKs.
 */
function roundTrip(cc: CongestionControl, t0: number, rtt: number, perAck = 1): { t: number; acks: number } {
  const segs = Math.floor(cc.cwnd / MSS);
  const acks = Math.ceil(segs / perAck);
  for (let i = 0; i < acks; i++) {
    const n = Math.min(perAck, segs - i * perAck);
    cc.onAck(n * MSS, t0 + (rtt * (i + 1)) / acks, rtt, cc.cwnd);
  }
  return { t: t0 + rtt, acks };
}

describe('initial window (RFC 6928) and the factory', () => {
  it('IW = min(10*MSS, max(2*MSS, 14600))', () => {
    expect(initialWindow(1460)).toBe(14600);
    expect(initialWindow(1000)).toBe(10000);
    expect(initialWindow(536)).toBe(5360);
    expect(initialWindow(4000)).toBe(14600);
    expect(initialWindow(9000)).toBe(18000);
    expect(initialWindow(100)).toBe(1000);
  });

  it('createCongestionControl returns an initialised algorithm of that name', () => {
    for (const name of ['newreno', 'cubic'] as const) {
      const cc = createCongestionControl(name, 1460, 0);
      expect(cc.name).toBe(name);
      expect(cc.cwnd).toBe(14600);
      expect(cc.ssthresh).toBe(INITIAL_SSTHRESH);
      expect(INITIAL_SSTHRESH).toBe(0x7fffffff);
    }
  });

  it('init() again (MSS learned before data flows) recomputes IW', () => {
    const cc = createCongestionControl('newreno', 536, 0);
    cc.init(1460, 0);
    expect(cc.cwnd).toBe(14600);
  });
});

describe('NewReno: slow start (RFC 5681 3.1, ABC RFC 3465)', () => {
  it('doubles per RTT with one ACK per segment: cwnd = IW + acks * SMSS', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    let t = 0;
    let acks = 0;
    for (let r = 1; r <= 5; r++) {
      const res = roundTrip(cc, t, 100);
      t = res.t;
      acks += res.acks;
      expect(cc.cwnd).toBe(10000 * 2 ** r);
      expect(cc.cwnd).toBe(10000 + acks * MSS);
    }
  });

  it('still doubles per RTT with delayed ACKs (L = 2*SMSS)', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    let t = 0;
    for (let r = 1; r <= 4; r++) {
      t = roundTrip(cc, t, 100, 2).t;
      expect(cc.cwnd).toBe(10000 * 2 ** r);
    }
  });

  it('limits a stretch ACK to 2*SMSS of growth', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.onAck(8 * MSS, 1, 100, 10 * MSS);
    expect(cc.cwnd).toBe(10000 + 2 * MSS);
    cc.onAck(500, 2, 100, 10 * MSS);
    expect(cc.cwnd).toBe(12500);
  });

  it('stops at ssthresh and hands the rest of the ACK to congestion avoidance', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.ssthresh = 11500;
    cc.onAck(2 * MSS, 1, 100, 10 * MSS);
    expect(cc.cwnd).toBe(11500);
    // 500 bytes counted toward CA; CA grows after cwnd bytes in total.
    cc.onAck(11000, 2, 100, 11 * MSS);
    expect(cc.cwnd).toBe(12500);
  });

  it('does not grow a window the application leaves unused (RFC 7661)', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.onAck(MSS, 1, 100, 1000); // 1 segment in flight of a 10-segment window
    expect(cc.cwnd).toBe(10000);
    cc.onAck(MSS, 2, 100, 4000); // (4000 + 1000) * 2 >= 10000: in use
    expect(cc.cwnd).toBe(11000);
    cc.onAck(0, 3, 100, 10000);
    cc.onAck(-5, 3, 100, 10000);
    expect(cc.cwnd).toBe(11000);
  });
});

describe('NewReno: congestion avoidance (RFC 5681 3.1)', () => {
  it('adds one SMSS per RTT (byte counting), with or without delayed ACKs', () => {
    for (const perAck of [1, 2, 3]) {
      const cc = new NewReno();
      cc.init(MSS, 0);
      cc.cwnd = 20 * MSS;
      cc.ssthresh = 20 * MSS;
      let t = 0;
      for (let r = 1; r <= 30; r++) {
        t = roundTrip(cc, t, 100, perAck).t;
        // Within a round at most one step of SMSS; after r rounds about r SMSS.
        expect(cc.cwnd).toBeGreaterThanOrEqual((20 + r - 1) * MSS);
        expect(cc.cwnd).toBeLessThanOrEqual((20 + r) * MSS);
      }
    }
  });

  it('equals the SMSS*SMSS/cwnd-per-ACK rule on average with one ACK per segment', () => {
    const cc = new NewReno();
    cc.init(MSS, 0);
    cc.cwnd = 50 * MSS;
    cc.ssthresh = 10 * MSS;
    // Equation (3) reference, accumulated in floating point over 500 ACKs.
    let ref = 50 * MSS;
    for (let i = 0; i < 500; i++) {
      cc.onAck(MSS, i, 100, cc.cwnd);
      ref += (MSS * MSS) / ref;
    }
    expect(Math.abs(cc.cwnd - ref)).toBeLessThanOrEqual(MSS);
  });
});

describe('NewReno: reductions', () => {
  it('onLoss: ssthresh = max(FlightSize/2, 2*SMSS) and cwnd = ssthresh (RFC 5681 eq. 4)', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.cwnd = 40 * MSS;
    cc.onLoss(40 * MSS, 0);
    expect(cc.ssthresh).toBe(20 * MSS);
    expect(cc.cwnd).toBe(20 * MSS);
    // FlightSize, not cwnd, sets the threshold.
    cc.cwnd = 40 * MSS;
    cc.onLoss(10 * MSS, 0);
    expect(cc.ssthresh).toBe(5 * MSS);
    cc.onLoss(3 * MSS, 0);
    expect(cc.ssthresh).toBe(2 * MSS);
    expect(cc.cwnd).toBe(2 * MSS);
  });

  it('onRecoveryEnd deflates to ssthresh (RFC 6582 3.2 step 3)', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.onLoss(40 * MSS, 0);
    cc.cwnd = cc.ssthresh + 3 * MSS + 7 * MSS; // the engine's inflation
    cc.onRecoveryEnd(10);
    expect(cc.cwnd).toBe(20 * MSS);
    // Then congestion avoidance (cwnd == ssthresh is not slow start).
    cc.onAck(MSS, 11, 100, 20 * MSS);
    expect(cc.cwnd).toBe(20 * MSS);
  });

  it('onRto: cwnd = 1 SMSS (loss window), ssthresh from FlightSize, then slow start', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.cwnd = 64 * MSS;
    cc.onRto(64 * MSS, 0);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(32 * MSS);
    cc.onAck(MSS, 1, 100, MSS);
    expect(cc.cwnd).toBe(2 * MSS);
  });

  it('onIdleRestart: cwnd = min(IW, cwnd) (RFC 5681 4.1)', () => {
    const cc = createCongestionControl('newreno', MSS, 0);
    cc.cwnd = 50 * MSS;
    cc.onIdleRestart!(1000, 1000);
    expect(cc.cwnd).toBe(10 * MSS);
    cc.cwnd = 4 * MSS;
    cc.onIdleRestart!(2000, 1000);
    expect(cc.cwnd).toBe(4 * MSS);
  });

  it('setMss keeps cwnd and a finite ssthresh in segments', () => {
    const cc = createCongestionControl('newreno', 1460, 0);
    expect(cc.cwnd).toBe(14600);
    cc.setMss(1000);
    expect(cc.cwnd).toBe(10000);
    expect(cc.ssthresh).toBe(INITIAL_SSTHRESH);
    cc.onLoss(40000, 0); // ssthresh 20000 = 20 segments
    cc.setMss(500);
    expect(cc.ssthresh).toBe(10000);
    expect(cc.cwnd).toBe(10000);
    cc.setMss(0); // ignored
    expect(cc.cwnd).toBe(10000);
  });
});
