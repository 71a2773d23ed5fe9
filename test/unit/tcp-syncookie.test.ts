import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { seq, seqAdd, seqDiff, type Seq } from '../../src/core/seq.js';
import { COOKIE_MSS_TABLE, COOKIE_PERIOD_MS, SynCookies, type FourTuple } from '../../src/tcp/syncookie.js';

const T: FourTuple = { localAddr: 0x0a4d0001, localPort: 80, remoteAddr: 0x0a4d0002, remotePort: 51234 };
const PEER_ISN = seq(0x12345678);

function setup(start = 1_000_000, seed = 1): { clock: ManualClock; sc: SynCookies } {
  const clock = new ManualClock(start);
  return { clock, sc: new SynCookies(clock, new SeededRng(seed)) };
}

describe('SynCookies (RFC 4987, Linux layout)', () => {
  it('round trip: the cookie decodes to the encoded MSS', () => {
    const { sc } = setup();
    for (const mss of [536, 1300, 1440, 1460]) {
      const { isn, mss: enc } = sc.encode(T, PEER_ISN, mss);
      expect(enc).toBe(mss);
      expect(sc.decode(T, PEER_ISN, isn)).toBe(mss);
    }
    // Across the 2^32 wrap of the peer's ISN too.
    const { isn } = sc.encode(T, seq(0xffffffff), 1460);
    expect(sc.decode(T, seq(0xffffffff), isn)).toBe(1460);
  });

  it('rounds the MSS down to the table (536, 1300, 1440, 1460)', () => {
    expect(COOKIE_MSS_TABLE).toEqual([536, 1300, 1440, 1460]);
    const { sc } = setup();
    const cases: [number, number][] = [
      [9000, 1460], [1500, 1460], [1460, 1460], [1459, 1440], [1440, 1440], [1439, 1300],
      [1300, 1300], [1299, 536], [536, 536], [100, 536],
    ];
    for (const [peer, want] of cases) {
      const { isn, mss } = sc.encode(T, PEER_ISN, peer);
      expect(mss, `peer MSS ${peer}`).toBe(want);
      expect(sc.decode(T, PEER_ISN, isn)).toBe(want);
    }
  });

  it('rejects a cookie checked against another tuple or peer ISN', () => {
    const { sc } = setup();
    const { isn } = sc.encode(T, PEER_ISN, 1460);
    const others: FourTuple[] = [
      { ...T, localAddr: T.localAddr + 1 },
      { ...T, remoteAddr: T.remoteAddr ^ 0x100 },
      { ...T, localPort: 81 },
      { ...T, remotePort: T.remotePort + 1 },
    ];
    for (const o of others) expect(sc.decode(o, PEER_ISN, isn)).toBeUndefined();
    // The peer ISN is subtracted like the index is added: steps of 4 or more break the check.
    expect(sc.decode(T, seqAdd(PEER_ISN, 8), isn)).toBeUndefined();
    expect(sc.decode(T, seqAdd(PEER_ISN, -4), isn)).toBeUndefined();
    expect(sc.decode(T, seqAdd(PEER_ISN, 1 << 20), isn)).toBeUndefined();
    expect(sc.decode(T, seqAdd(PEER_ISN, 1 << 28), isn)).toBeUndefined();
  });

  it('rejects altered ACK numbers (every bit above the 2-bit MSS index)', () => {
    const { sc } = setup();
    const { isn } = sc.encode(T, PEER_ISN, 536); // index 0
    for (let bit = 2; bit < 32; bit++) {
      expect(sc.decode(T, PEER_ISN, seq(isn ^ (1 << bit))), `bit ${bit}`).toBeUndefined();
    }
    // The index itself is additive (as in Linux): +1 selects the next table entry.
    expect(sc.decode(T, PEER_ISN, seqAdd(isn, 1))).toBe(1300);
    expect(sc.decode(T, PEER_ISN, seqAdd(isn, 4))).toBeUndefined();
    expect(sc.decode(T, PEER_ISN, seqAdd(isn, -1))).toBeUndefined();
  });

  it('is valid for the current and the previous 64 s period, expired after that', () => {
    const { clock, sc } = setup(0);
    clock.advanceTo(COOKIE_PERIOD_MS - 1); // end of period 0
    const { isn } = sc.encode(T, PEER_ISN, 1440);
    expect(sc.counter()).toBe(0);
    clock.advance(2); // period 1: previous period, still fine
    expect(sc.counter()).toBe(1);
    expect(sc.decode(T, PEER_ISN, isn)).toBe(1440);
    clock.advanceTo(2 * COOKIE_PERIOD_MS - 1);
    expect(sc.decode(T, PEER_ISN, isn)).toBe(1440);
    clock.advanceTo(2 * COOKIE_PERIOD_MS); // period 2: too old
    expect(sc.decode(T, PEER_ISN, isn)).toBeUndefined();
    clock.advance(10 * COOKIE_PERIOD_MS);
    expect(sc.decode(T, PEER_ISN, isn)).toBeUndefined();
    // 256 periods later the 8-bit counter matches again, but H2 uses the full counter.
    clock.advanceTo((256 + 0) * COOKIE_PERIOD_MS + 5);
    expect(sc.decode(T, PEER_ISN, isn)).toBeUndefined();
  });

  it('a cookie from the future (clock going backwards is impossible, but forged counters are) is rejected', () => {
    const { clock, sc } = setup(10 * COOKIE_PERIOD_MS);
    const { isn } = sc.encode(T, PEER_ISN, 1460);
    const later = new SynCookies(clock, new SeededRng(1)); // same secrets
    expect(later.decode(T, PEER_ISN, isn)).toBe(1460);
    // Bump the counter byte: "diff" becomes 255 -> rejected.
    expect(sc.decode(T, PEER_ISN, seq(isn + (1 << 24)))).toBeUndefined();
  });

  it('depends on the secrets from the Rng', () => {
    const a = setup(0, 1).sc.encode(T, PEER_ISN, 1460).isn;
    const b = setup(0, 2).sc.encode(T, PEER_ISN, 1460).isn;
    expect(a).not.toBe(b);
    expect(setup(0, 2).sc.decode(T, PEER_ISN, a)).toBeUndefined();
  });

  it('brute force: random ACKs are (almost) never accepted', () => {
    const { sc } = setup();
    const rng = new SeededRng(99);
    let accepted = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const t: FourTuple = { ...T, remotePort: rng.nextInt(1024, 65536) };
      if (sc.decode(t, seq(rng.nextU32()), seq(rng.nextU32())) !== undefined) accepted++;
    }
    // Expected ~ N * 2/256 * 4/2^24 = 4e-5.
    expect(accepted).toBe(0);
    // Sanity: the same loop with valid cookies accepts everything.
    let ok = 0;
    for (let i = 0; i < 200; i++) {
      const t: FourTuple = { ...T, remotePort: rng.nextInt(1024, 65536) };
      const isn = seq(rng.nextU32());
      if (sc.decode(t, isn, sc.encode(t, isn, 1460).isn) === 1460) ok++;
    }
    expect(ok).toBe(200);
  });
});

describe('SynCookies: options in the timestamp (Linux cookie_init_timestamp)', () => {
  const { sc } = setup();

  it('round-trips window scale (0..14 or none) and SACK-permitted through TSval/TSecr', () => {
    const rng = new SeededRng(5);
    for (const wscale of [undefined, 0, 1, 7, 13, 14]) {
      for (const sackOk of [false, true]) {
        for (let i = 0; i < 20; i++) {
          const tsval = rng.nextU32();
          const ts = sc.encodeTimestamp(tsval, { wscale, sackOk });
          expect(sc.decodeTimestamp(ts)).toEqual({ wscale, sackOk });
          // Rounded down, by less than 64 (modulo 2^32).
          const d = seqDiff(seq(tsval), seq(ts) as Seq);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(64);
        }
      }
    }
  });

  it('golden values: low 6 bits = wscale | sack << 4', () => {
    expect(sc.encodeTimestamp(0x1000, { wscale: 7, sackOk: true })).toBe(0x1000 - 64 + 0x17);
    expect(sc.encodeTimestamp(0x103f, { wscale: 7, sackOk: true })).toBe(0x1017);
    expect(sc.encodeTimestamp(0x1017, { wscale: 7, sackOk: true })).toBe(0x1017);
    expect(sc.encodeTimestamp(0x1020, { wscale: undefined, sackOk: false })).toBe(0x100f);
    expect(sc.encodeTimestamp(5, { wscale: undefined, sackOk: true })).toBe(0xffffffdf); // wraps below 0
    expect(sc.encodeTimestamp(0x2000, { wscale: 20, sackOk: false }) & 0x3f).toBe(14); // clamped (RFC 7323)
    expect(sc.decodeTimestamp(0x1017)).toEqual({ wscale: 7, sackOk: true });
    expect(sc.decodeTimestamp(0x100f)).toEqual({ wscale: undefined, sackOk: false });
    expect(sc.decodeTimestamp(0x1020)).toBeUndefined(); // ECN bit: never ours
  });

  it('TSvals stay monotonic: encoded values never exceed the clock and never go backwards', () => {
    let prev: number | undefined;
    for (let tsval = 1000; tsval < 3000; tsval += 7) {
      const ts = sc.encodeTimestamp(tsval, { wscale: 9, sackOk: true });
      expect(ts).toBeLessThanOrEqual(tsval);
      if (prev !== undefined) expect(ts).toBeGreaterThanOrEqual(prev);
      prev = ts;
    }
  });
});
