/**
 * RACK-TLP (RFC 8985) end to end on the simulated path: the same seeded transfers with
 * rackTlp on and off. Both must deliver identical bytes; with RACK-TLP the sender must wait
 * for far fewer retransmission timeouts (lost retransmissions and lost tails are repaired
 * within round trips instead of after RTO >= 1 s).
 *
 * Two workloads per seed, with loss on the data and on the ACKs (10 ms each way):
 *   bulk:   2 MiB written at once (lost retransmissions are what needs an RTO without RACK);
 *   bursts: 8 KiB every 1.2 s, 1 MiB in all (request/response-like: a lost tail of a burst
 *           has nothing behind it to be SACKed; without TLP only the RTO repairs it).
 */
import { describe, expect, it } from 'vitest';
import { TcpSim, type TransferResult } from '../helpers/tcp-sim.js';

interface Totals {
  rtos: number;
  /** Virtual time of the bulk transfers (the paced ones last as long as their pacing). */
  bulkMs: number;
  /** D-SACKs the sender received: spurious retransmissions. */
  dsacks: number;
  probes: number;
  lostRtx: number;
}

function run(seed: number, loss: number, rackTlp: boolean, bursts: boolean): TransferResult {
  const sim = new TcpSim({ seed, path: { loss, delayMs: 10 }, config: { rackTlp } });
  return bursts
    ? sim.transfer(1 << 20, { limitMs: 3_600_000, chunk: 8192, paceMs: 1200 })
    : sim.transfer(2 << 20, { limitMs: 3_600_000 });
}

describe('RACK-TLP vs RFC 6675 alone, seeded loss', () => {
  for (const loss of [0.01, 0.05]) {
    it(`${loss * 100}% loss: identical bytes, far fewer RTOs`, () => {
      const on: Totals = { rtos: 0, bulkMs: 0, dsacks: 0, probes: 0, lostRtx: 0 };
      const off: Totals = { rtos: 0, bulkMs: 0, dsacks: 0, probes: 0, lostRtx: 0 };
      for (const seed of [1, 2, 3]) {
        for (const bursts of [false, true]) {
          const a = run(seed, loss, true, bursts);
          const b = run(seed, loss, false, bursts);
          for (const r of [a, b]) {
            expect(r.received, `seed ${seed}`).toBe(r.size);
            expect(r.rxHash, `seed ${seed}`).toBe(r.txHash);
          }
          // The same pseudo-random payload both times.
          expect(a.txHash).toBe(b.txHash);
          for (const [t, r] of [[on, a], [off, b]] as const) {
            t.rtos += r.clientStats.TCPTimeouts;
            if (!bursts) t.bulkMs += r.virtualMs;
            t.dsacks += r.clientStats.TCPDSACKRecv;
            t.probes += r.clientStats.TCPLossProbes;
            t.lostRtx += r.clientStats.TCPLostRetransmit;
          }
          // Off means off.
          expect(b.clientStats.TCPLossProbes + b.clientStats.TCPRACKLossDetected).toBe(0);
        }
      }
      console.log(
        `${loss * 100}% loss, 3 seeds x 2 workloads: RTOs ${on.rtos} with RACK-TLP vs ${off.rtos} without; ` +
          `bulk ${Math.round(on.bulkMs)} vs ${Math.round(off.bulkMs)} ms; D-SACKs ${on.dsacks} vs ${off.dsacks}; ` +
          `${on.probes} probes, ${on.lostRtx} lost retransmissions found`,
      );
      expect(off.rtos).toBeGreaterThanOrEqual(5);
      expect(on.rtos * 4).toBeLessThanOrEqual(off.rtos);
      // Bulk transfers are cwnd-bound at these rates (one reduction per episode either way):
      // RACK must not make them slower through spurious retransmissions.
      expect(on.bulkMs).toBeLessThanOrEqual(off.bulkMs * 1.05);
      // A probe that retransmits the last segment is redundant when only an ACK was lost
      // (by design: RFC 8985 7.4); beyond those, RACK's loss marking adds no spurious ones.
      expect(on.dsacks - on.probes).toBeLessThanOrEqual(off.dsacks);
      expect(on.probes).toBeGreaterThan(0);
    });
  }
});
