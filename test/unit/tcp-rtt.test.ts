import { describe, expect, it } from 'vitest';
import { DEFAULT_RTT_OPTIONS, RttEstimator } from '../../src/tcp/rtt.js';

describe('RttEstimator (RFC 6298)', () => {
  it('defaults: 1 s initial RTO, 1 s min, 60 s max, G = 1 ms', () => {
    expect(DEFAULT_RTT_OPTIONS).toEqual({ initialRto: 1000, minRto: 1000, maxRto: 60_000, granularity: 1 });
    const r = new RttEstimator();
    expect(r.hasSample).toBe(false);
    expect(r.rto).toBe(1000);
    expect(r.srtt).toBe(0);
    expect(r.backoffCount).toBe(0);
  });

  it('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR) (2.2)', () => {
    const r = new RttEstimator({ minRto: 0 });
    r.sample(100);
    expect(r.hasSample).toBe(true);
    expect(r.srtt).toBe(100);
    expect(r.rttvar).toBe(50);
    expect(r.rto).toBe(300);
  });

  it('subsequent samples: RTTVAR from the old SRTT, then SRTT (2.3)', () => {
    const r = new RttEstimator({ minRto: 0 });
    r.sample(100);
    r.sample(200);
    // RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5
    expect(r.rttvar).toBe(62.5);
    expect(r.srtt).toBe(112.5);
    expect(r.rto).toBe(112.5 + 4 * 62.5);
    r.sample(112.5);
    // RTTVAR = 3/4*62.5 + 0 ; SRTT unchanged
    expect(r.rttvar).toBe(46.875);
    expect(r.srtt).toBe(112.5);
  });

  it('converges to a steady RTT and the variance decays; G is the floor of the variance term', () => {
    const r = new RttEstimator({ minRto: 0, granularity: 10 });
    for (let i = 0; i < 200; i++) r.sample(40);
    expect(r.srtt).toBeCloseTo(40, 6);
    expect(r.rttvar).toBeLessThan(1e-6);
    expect(r.rto).toBeCloseTo(50, 6); // 40 + max(G=10, ~0)
  });

  it('rounds up to minRto (2.4) and clamps to maxRto (2.5)', () => {
    const r = new RttEstimator(); // minRto 1000
    r.sample(10);
    expect(r.rto).toBe(1000);
    const linux = new RttEstimator({ minRto: 200 });
    linux.sample(10);
    expect(linux.rto).toBe(200);
    const big = new RttEstimator({ maxRto: 60_000 });
    big.sample(50_000);
    expect(big.rto).toBe(60_000);
  });

  it('backoff doubles up to maxRto (5.5); resetBackoff returns to the computed RTO', () => {
    const r = new RttEstimator({ minRto: 200, maxRto: 10_000 });
    r.sample(100); // RTO 300
    expect(r.rto).toBe(300);
    r.backoff();
    expect(r.rto).toBe(600);
    expect(r.backoffCount).toBe(1);
    r.backoff();
    r.backoff();
    expect(r.rto).toBe(2400);
    for (let i = 0; i < 100; i++) r.backoff();
    expect(r.rto).toBe(10_000);
    expect(r.backoffCount).toBe(103);
    r.resetBackoff();
    expect(r.backoffCount).toBe(0);
    expect(r.rto).toBe(300);
  });

  it('backoff before any sample doubles the initial RTO (a lost SYN: 1, 2, 4 s ...)', () => {
    const r = new RttEstimator();
    r.backoff();
    expect(r.rto).toBe(2000);
    r.backoff();
    expect(r.rto).toBe(4000);
    // A sample while backed off recomputes the base but keeps the backoff until reset.
    r.sample(100);
    expect(r.rto).toBe(4000); // max(minRto 1000, computed 300) * 2^2
    r.resetBackoff();
    expect(r.rto).toBe(1000);
  });

  it('ignores negative and non-finite samples', () => {
    const r = new RttEstimator();
    r.sample(-5);
    r.sample(Number.NaN);
    r.sample(Number.POSITIVE_INFINITY);
    expect(r.hasSample).toBe(false);
    r.sample(0);
    expect(r.hasSample).toBe(true);
    expect(r.rto).toBe(1000);
  });
});
