import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Timer } from '../../src/core/clock.js';
import type { Link } from '../../src/link/link.js';
import { readPcap } from '../../src/link/pcap.js';
import { SimNetwork, SimulationError, type SimLinkOptions } from '../../src/link/sim.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-sim-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** No env influence unless a test asks for it. */
const noEnv = {};

/**
 * Two dumb endpoints: the pinger sends `count` numbered 100-byte frames, one every
 * `intervalMs` (from a Clock timer); the echoer sends every frame it gets back with byte 4
 * set to 0xee. The pinger logs (time, id, intact) of every echo.
 */
function pingPong(sim: SimNetwork, opts: SimLinkOptions, count: number, intervalMs = 1) {
  const [a, b] = sim.linkPair(opts);
  const log: string[] = [];
  let sent = 0;
  const frame = new Uint8Array(100);
  const timer: Timer = sim.clock.createTimer(() => {
    frame.fill(0x11);
    new DataView(frame.buffer).setUint32(0, sent++);
    a.send(frame);
    if (sent < count) timer.arm(sim.now() + intervalMs);
  });
  timer.arm(0);
  b.setReceiver({
    receive(f) {
      const copy = f.slice();
      copy[4] = 0xee;
      b.send(copy);
    },
  });
  a.setReceiver({
    receive(f) {
      const id = new DataView(f.buffer, f.byteOffset).getUint32(0);
      const intact = f[4] === 0xee && f.subarray(5).every((x) => x === 0x11);
      log.push(`${sim.now().toFixed(6)} ${id} ${intact ? 'ok' : 'corrupt'}`);
    },
  });
  return { a, b, log, sentCount: () => sent };
}

const IMPAIRED: SimLinkOptions = {
  delayMs: 2,
  bandwidthBps: 10_000_000,
  impair: { loss: 0.05, duplicate: 0.02, reorder: 0.05, jitterMs: 1, corrupt: 0.02 },
};

describe('SimNetwork', () => {
  it('is deterministic for a seed: same seed, same trace and stats', () => {
    const runOnce = (seed: number) => {
      const sim = new SimNetwork({ seed, env: noEnv });
      const { log } = pingPong(sim, IMPAIRED, 2000);
      sim.runUntilIdle();
      const imp = sim.pair(0).impaired!;
      return { log, stats: [imp[0].counters, imp[1].counters], t: sim.now(), steps: sim.steps };
    };
    const r1 = runOnce(1234);
    const r2 = runOnce(1234);
    expect(r2).toEqual(r1);
    // The impairments really happened (in both directions)...
    const [ab, ba] = r1.stats;
    for (const c of [ab!, ba!]) {
      expect(c.dropped).toBeGreaterThan(0);
      expect(c.duplicated).toBeGreaterThan(0);
      expect(c.reordered).toBeGreaterThan(0);
      expect(c.corrupted).toBeGreaterThan(0);
    }
    // ...each direction from its own Rng stream
    expect(ab).not.toEqual(ba);
    expect(r1.log.some((l) => l.endsWith('corrupt'))).toBe(true);
    // A different seed gives a different run.
    expect(runOnce(1235).log).not.toEqual(r1.log);
  });

  it('impairs each direction from its own Rng stream', () => {
    const sim = new SimNetwork({ seed: 99, env: noEnv });
    const [a, b] = sim.linkPair({ delayMs: 1, impair: { loss: 0.2 } });
    const got: [number[], number[]] = [[], []];
    a.setReceiver({ receive: (f) => void got[0].push(f[0]! | (f[1]! << 8)) });
    b.setReceiver({ receive: (f) => void got[1].push(f[0]! | (f[1]! << 8)) });
    const f = new Uint8Array(60);
    for (let i = 0; i < 500; i++) {
      f[0] = i & 255;
      f[1] = i >> 8;
      a.send(f); // identical traffic both ways
      b.send(f);
      sim.runFor(1);
    }
    sim.runUntilIdle();
    expect(got[0].length).toBeGreaterThan(300);
    expect(got[1].length).toBeGreaterThan(300);
    expect(got[0]).not.toEqual(got[1]);
  });

  it('step() runs exactly one event, in (time, insertion) order', () => {
    const sim = new SimNetwork({ seed: 1, env: noEnv });
    const order: string[] = [];
    const [a, b] = sim.linkPair({ delayMs: 5 });
    b.setReceiver({ receive: () => order.push(`frame@${sim.now()}`) });
    const t1 = sim.clock.createTimer(() => order.push(`t1@${sim.now()}`));
    const t2 = sim.clock.createTimer(() => order.push(`t2@${sim.now()}`));
    a.send(new Uint8Array(60)); // delivery at 5, queued first
    t1.arm(5);
    t2.arm(3);
    expect(sim.step()).toBe(true);
    expect(order).toEqual(['t2@3']);
    expect(sim.step()).toBe(true);
    expect(order).toEqual(['t2@3', 'frame@5']);
    expect(sim.step()).toBe(true);
    expect(sim.step()).toBe(false);
    expect(order).toEqual(['t2@3', 'frame@5', 't1@5']);
    expect(sim.steps).toBe(3);
  });

  it('runUntil stops as soon as the condition holds', () => {
    const sim = new SimNetwork({ seed: 2, env: noEnv });
    const { log } = pingPong(sim, { delayMs: 1 }, 100, 10);
    const steps = sim.runUntil(() => log.length === 3);
    expect(log.length).toBe(3);
    expect(steps).toBeGreaterThan(0);
    expect(sim.now()).toBe(22); // third ping at 20, echo back at 22
    expect(sim.runUntil(() => true)).toBe(0);
  });

  it('runUntil throws with the seed and replay instructions on a runaway', () => {
    const sim = new SimNetwork({ seed: 987654, env: noEnv });
    const [a, b] = sim.linkPair(); // zero delay: an endless ping-pong at one instant
    const bounce = (l: Link) => ({ receive: (f: Uint8Array) => void l.send(f) });
    a.setReceiver(bounce(a));
    b.setReceiver(bounce(b));
    a.send(new Uint8Array(60));
    let err: unknown;
    try {
      sim.runUntil(() => false, 500);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimulationError);
    const e = err as SimulationError;
    expect(e.seed).toBe(987654);
    expect(e.message).toMatch(/after 500 steps/);
    expect(e.message).toContain('seed=987654');
    expect(e.message).toContain('TCPIP_SIM_SEED=987654');
    expect(sim.now()).toBe(0);
  });

  it('runUntil throws when no event is left, and on maxTimeMs', () => {
    const idle = new SimNetwork({ seed: 3, env: noEnv });
    expect(() => idle.runUntil(() => false)).toThrow(/no events left[\s\S]*TCPIP_SIM_SEED=3/);

    const sim = new SimNetwork({ seed: 4, env: noEnv });
    const tick: Timer = sim.clock.createTimer(() => tick.arm(sim.now() + 10));
    tick.arm(10);
    expect(() => sim.runUntil(() => false, 1e6, 100)).toThrow(/after 100 ms of virtual time/);
    expect(sim.now()).toBe(100);
  });

  it('runFor runs the events of the window and lands exactly on its end', () => {
    const sim = new SimNetwork({ seed: 5, env: noEnv });
    const { log } = pingPong(sim, { delayMs: 1 }, 100, 10);
    sim.runFor(35);
    expect(log.length).toBe(4); // echoes at 2, 12, 22, 32
    expect(sim.now()).toBe(35);
    expect(() => {
      const [a, b] = sim.linkPair();
      a.setReceiver({ receive: (f) => void a.send(f) });
      b.setReceiver({ receive: (f) => void b.send(f) });
      a.send(new Uint8Array(60));
      sim.runFor(1, 1000);
    }).toThrow(/runFor\(1\): more than 1000 events[\s\S]*seed=5/);
  });

  it('captures delivered frames, with virtual timestamps, into a pcap the reader can read', () => {
    const sim = new SimNetwork({ seed: 6, capture: true, env: noEnv });
    const { log, a, b } = pingPong(sim, { delayMs: 3, impair: { loss: 0.1 } }, 50, 1);
    sim.runUntilIdle();
    const file = path.join(tmp, 'sim.pcap');
    sim.writePcap(file);
    const recs = readPcap(fs.readFileSync(file)).records;
    const delivered = sim.pair(0).memory[0].counters.rxFrames + sim.pair(0).memory[1].counters.rxFrames;
    expect(recs.length).toBe(delivered);
    expect(recs.length).toBe(50 - sim.pair(0).impaired![0].counters.dropped + log.length);
    const times = recs.map((r) => r.timeMs);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(times[0]).toBe(3); // first ping sent at 0, delay 3 ms: virtual time in the pcap
    expect(a.mtu).toBe(1500);
    expect(b.mtu).toBe(1500);
  });

  it('TCPIP_SIM_SEED replays a seed; garbage in it is refused', () => {
    expect(new SimNetwork({ seed: 5, env: { TCPIP_SIM_SEED: '77' } }).seed).toBe(77);
    expect(new SimNetwork({ env: { TCPIP_SIM_SEED: '0x10' } }).seedSource).toBe('env');
    expect(() => new SimNetwork({ env: { TCPIP_SIM_SEED: 'abc' } })).toThrow(/TCPIP_SIM_SEED/);
    const r = new SimNetwork({ env: noEnv });
    expect(r.seedSource).toBe('random');
    expect(r.describe()).toContain(`TCPIP_SIM_SEED=${r.seed}`);
    // Same seed from env as from the constructor: identical run.
    const trace = (sim: SimNetwork) => {
      const { log } = pingPong(sim, IMPAIRED, 300);
      sim.runUntilIdle();
      return log;
    };
    expect(trace(new SimNetwork({ env: { TCPIP_SIM_SEED: '4242' } }))).toEqual(trace(new SimNetwork({ seed: 4242, env: noEnv })));
  });

  it('with TCPIP_SIM_PCAP=<dir>, a failure writes a pcap per pair and names it', () => {
    const dir = path.join(tmp, 'failures');
    const sim = new SimNetwork({ seed: 31337, env: { TCPIP_SIM_PCAP: dir } });
    const { log } = pingPong(sim, { delayMs: 1 }, 5);
    let msg = '';
    try {
      sim.runUntil(() => log.length > 100);
    } catch (e) {
      msg = (e as Error).message;
    }
    const file = path.join(dir, 'sim-seed31337-pair0.pcap');
    expect(msg).toContain(`pcap: ${file}`);
    expect(readPcap(fs.readFileSync(file)).records.length).toBe(10);
  });

  it('pcapBytes explains how to enable capture', () => {
    const sim = new SimNetwork({ seed: 1, env: noEnv });
    sim.linkPair();
    expect(() => sim.pcapBytes(0)).toThrow(/capture: true/);
    expect(() => sim.pair(3)).toThrow(RangeError);
  });
});
