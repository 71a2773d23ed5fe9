import { describe, expect, it } from 'vitest';
import {
  createCongestionControl,
  Cubic,
  CUBIC_ALPHA,
  CUBIC_BETA,
  CUBIC_C,
  NewReno,
  type CongestionControl,
} from '../../src/tcp/congestion/index.js';

const MSS = 1000;

/** One RTT of a cwnd-limited sender: one ACK per segment, spread over the RTT (virtual ms). */
function roundTrip(cc: CongestionControl, t0: number, rtt: number): number {
  const segs = Math.max(1, Math.floor(cc.cwnd / MSS));
  for (let i = 0; i < segs; i++) cc.onAck(MSS, t0 + (rtt * (i + 1)) / segs, rtt, cc.cwnd);
  return t0 + rtt;
}

/** An algorithm that was at `wMaxSegs` segments when a loss was detected, after recovery at `t`. */
function afterLoss<T extends CongestionControl>(cc: T, wMaxSegs: number, t: number): T {
  cc.init(MSS, 0);
  cc.cwnd = wMaxSegs * MSS;
  cc.onLoss(cc.cwnd, t);
  cc.onRecoveryEnd(t);
  return cc;
}

describe('CUBIC constants and reductions (RFC 9438 4.6-4.8)', () => {
  it('C = 0.4, beta = 0.7, alpha = 3(1-beta)/(1+beta)', () => {
    expect(CUBIC_C).toBe(0.4);
    expect(CUBIC_BETA).toBe(0.7);
    expect(CUBIC_ALPHA).toBeCloseTo(0.9 / 1.7, 12);
  });

  it('onLoss multiplies by 0.7 and remembers W_max', () => {
    const cc = new Cubic();
    cc.init(MSS, 0);
    cc.cwnd = 100 * MSS;
    cc.onLoss(100 * MSS, 0);
    expect(cc.ssthresh).toBe(70 * MSS);
    expect(cc.cwnd).toBe(70 * MSS);
    expect(cc.wMax).toBe(100);
    // ssthresh uses FlightSize (section 4.6), floored at 2 SMSS.
    cc.cwnd = 100 * MSS;
    cc.onLoss(2 * MSS, 0);
    expect(cc.ssthresh).toBe(2 * MSS);
  });

  it('fast convergence: a loss below the previous W_max lowers W_max to cwnd*(1+beta)/2 (4.7)', () => {
    const cc = new Cubic();
    cc.init(MSS, 0);
    cc.cwnd = 100 * MSS;
    cc.onLoss(100 * MSS, 0);
    cc.cwnd = 90 * MSS;
    cc.onLoss(90 * MSS, 1000);
    expect(cc.wMax).toBeCloseTo(90 * 0.85, 9);
    expect(cc.cwnd).toBe(63 * MSS);
    // A loss above the previous W_max sets W_max = cwnd.
    cc.cwnd = 120 * MSS;
    cc.onLoss(120 * MSS, 2000);
    expect(cc.wMax).toBe(120);
  });

  it('K = cbrt((W_max - cwnd_epoch) / C), computed when congestion avoidance starts', () => {
    const cc = afterLoss(new Cubic(), 100, 0);
    cc.onAck(MSS, 10, 200, cc.cwnd);
    expect(cc.k).toBeCloseTo(Math.cbrt((100 - 70) / 0.4), 9);
    expect(cc.wCubic(0)).toBeCloseTo(70, 9);
    expect(cc.wCubic(cc.k)).toBeCloseTo(100, 9);
    expect(cc.wEst).toBeGreaterThan(70);
  });

  it('onRto: cwnd = 1 SMSS, ssthresh = 0.7 * FlightSize; next stage has K = 0, W_max = cwnd at its start (4.8)', () => {
    const cc = new Cubic();
    cc.init(MSS, 0);
    cc.cwnd = 100 * MSS;
    cc.onLoss(100 * MSS, 0); // W_max 100
    cc.onRto(60 * MSS, 500);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(42 * MSS);
    // Slow start back to ssthresh; congestion avoidance starts on the ACK that reaches it,
    // with cwnd = ssthresh = 42 segments: W_max = 42 (not the old 100) and K = 0.
    let t = 1000;
    while (cc.cwnd < cc.ssthresh) t = roundTrip(cc, t, 100);
    expect(cc.cwnd).toBeGreaterThan(42 * MSS);
    expect(cc.k).toBe(0);
    expect(cc.wMax).toBe(42);
    // Reno-friendly at first (W_cubic is flat at t = K = 0), convex after a few seconds.
    while (t < 6000) t = roundTrip(cc, t, 100);
    expect(cc.wMax).toBe(42);
    expect(cc.region).toBe('convex');
  });

  it('onIdleRestart: cwnd = min(IW, cwnd) and a new epoch', () => {
    const cc = afterLoss(new Cubic(), 100, 0);
    roundTrip(cc, 0, 100);
    cc.onIdleRestart(10_000, 1000);
    expect(cc.cwnd).toBe(10 * MSS);
    cc.onAck(MSS, 10_001, 100, cc.cwnd); // slow start (cwnd < ssthresh)
    expect(cc.cwnd).toBe(11 * MSS);
  });

  it('keeps cwnd an integer number of bytes', () => {
    const cc = afterLoss(new Cubic(), 100, 0);
    let t = 0;
    for (let r = 0; r < 30; r++) {
      t = roundTrip(cc, t, 37);
      expect(Number.isInteger(cc.cwnd)).toBe(true);
    }
  });
});

describe('CUBIC window growth on virtual time (RFC 9438 4.2-4.5)', () => {
  it('grows faster than NewReno after a loss on a long-RTT path (RTT 200 ms, W_max 100 MSS, 5 s)', () => {
    const cubic = afterLoss(new Cubic(), 100, 0);
    const reno = afterLoss(new NewReno(), 100, 0);
    expect(cubic.cwnd).toBe(70 * MSS);
    expect(reno.cwnd).toBe(50 * MSS);
    let t = 0;
    while (t < 5000) {
      roundTrip(cubic, t, 200);
      t = roundTrip(reno, t, 200);
    }
    // NewReno: 50 + 25 RTTs * 1 = 75 segments. CUBIC: past K = cbrt(75) = 4.2 s, about W_max.
    expect(reno.cwnd).toBe(75 * MSS);
    expect(cubic.cwnd).toBeGreaterThan(reno.cwnd + 20 * MSS);
    expect(cubic.cwnd / MSS).toBeGreaterThan(98);
    expect(cubic.cwnd / MSS).toBeLessThan(106);
  });

  it('is concave below W_max, flat around t = K, convex above', () => {
    const cc = afterLoss(new Cubic(), 100, 0);
    const rtt = 100;
    const samples: { t: number; w: number; region: string }[] = [];
    let t = 0;
    while (t < 9000) {
      t = roundTrip(cc, t, rtt);
      samples.push({ t, w: cc.cwnd / MSS, region: cc.region });
    }
    const K = cc.k * 1000;
    const at = (ms: number): number => samples.find((s) => s.t >= ms)!.w;
    // Concave: the first second gains more than the second before K.
    const early = at(1000) - at(0 + rtt);
    const late = at(K) - at(K - 1000);
    expect(early).toBeGreaterThan(3 * late);
    // Plateau: within 2% of W_max from K - 0.5 s to K + 0.5 s.
    for (const s of samples) if (Math.abs(s.t - K) <= 500) expect(Math.abs(s.w - 100)).toBeLessThan(2);
    // Convex: growth accelerates after K.
    const g1 = at(K + 2000) - at(K + 1000);
    const g2 = at(K + 4000) - at(K + 3000);
    expect(g2).toBeGreaterThan(2 * g1);
    expect(samples.find((s) => s.t < K - 500)!.region).toBe('concave');
    expect(samples[samples.length - 1]!.region).toBe('convex');
    // Follows the curve: at 4 s after K, W = C*4^3 + W_max (+ at most 1.5x clamping lag).
    expect(at(K + 4000)).toBeCloseTo(CUBIC_C * 64 + 100, -1);
  });

  it('on a short RTT it is in the Reno-friendly region and grows by alpha_cubic per RTT (4.3)', () => {
    const cc = afterLoss(new Cubic(), 100, 0);
    let t = 0;
    for (let r = 0; r < 40; r++) t = roundTrip(cc, t, 2);
    expect(cc.region).toBe('reno-friendly');
    // W_est grows about alpha_cubic segments per RTT from 70 (cwnd tracks it).
    expect(cc.cwnd / MSS).toBeGreaterThan(70 + 40 * CUBIC_ALPHA - 1.5);
    expect(cc.cwnd / MSS).toBeLessThan(70 + 40 * CUBIC_ALPHA + 1.5);
    expect(Math.abs(cc.cwnd / MSS - cc.wEst)).toBeLessThan(1);
    expect(cc.wCubic((t - 0) / 1000)).toBeLessThan(cc.wEst);
  });

  it('with periodic losses at a 100-MSS bottleneck on a 2 ms RTT it delivers at least as much as NewReno', () => {
    const run = (cc: CongestionControl): number => {
      cc.init(MSS, 0);
      cc.cwnd = 100 * MSS;
      let t = 0;
      let delivered = 0;
      for (let r = 0; r < 3000; r++) {
        if (cc.cwnd >= 100 * MSS) {
          cc.onLoss(cc.cwnd, t);
          cc.onRecoveryEnd(t);
        }
        delivered += Math.floor(cc.cwnd / MSS);
        t = roundTrip(cc, t, 2);
      }
      return delivered;
    };
    const cubic = run(new Cubic());
    const reno = run(new NewReno());
    expect(cubic).toBeGreaterThanOrEqual(reno);
    // And not wildly more: the Reno-friendly estimate is designed to match Reno's average
    // (AIMD 0.5/1 vs 0.7/alpha): ~85 vs ~75 segments per RTT.
    expect(cubic / reno).toBeLessThan(1.25);
  });

  it('the factory default name "cubic" gives this algorithm', () => {
    const cc = createCongestionControl('cubic', MSS, 0);
    expect(cc).toBeInstanceOf(Cubic);
    expect(cc.cwnd).toBe(10 * MSS);
  });
});
