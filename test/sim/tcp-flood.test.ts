/**
 * Seeded floods against a server while a legitimate transfer runs through it: SYN floods
 * (with and without SYN cookies), ACK floods at the listener, RST and ACK floods with random
 * numbers at the live connection, out-of-window and in-window out-of-order data floods. The
 * state the server keeps must stay bounded (SYN queue by the backlog, out-of-order ranges by
 * the assembler, challenge ACKs by the RFC 5961 section 7 budget), the legitimate transfer
 * must complete intact, and the half-open connections must be gone afterwards.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import type { Connection } from '../../src/tcp/connection.js';
import type { Listener } from '../../src/tcp/listener.js';
import { buildSegment, type SegSpec } from '../helpers/tcp-peer.js';
import { CLIENT, SERVER, TcpSim } from '../helpers/tcp-sim.js';

const BACKLOG = 16;
/**
 * The legitimate transfer: large enough to outlast the 2 s of floods (200 ticks of 10 ms) at
 * 0.5% loss — with RACK-TLP a lost segment costs an RTT, not an RTO, so 1 MB took 0.3 s.
 */
const TRANSFER = 8 << 20;

/** Deliver one forged segment to the server (one receive batch). */
function inject(sim: TcpSim, src: number, spec: SegSpec & { seq: number; ack: number; flags: string }): void {
  const b = buildSegment(spec, src, SERVER);
  sim.server.receive({ src, dst: SERVER, ttl: 64, tos: 0, datagram: b }, b);
  sim.server.batchEnd();
}

/** A spoofed source in 10.77.128.0/17 (never the client). */
function spoofed(rng: SeededRng): number {
  return (0x0a4d8000 | (rng.nextU32() & 0x7fff)) >>> 0;
}

describe('floods (seeded)', () => {
  for (const seed of [11, 12]) {
    it(`seed ${seed}: SYN, ACK, RST and data floods while 8 MB flow; bounded state, intact data`, () => {
      const sim = new TcpSim({ seed, path: { delayMs: 5, loss: 0.005 } });
      const rng = new SeededRng(seed * 7919);
      const t = sim.startTransfer(TRANSFER, { backlog: BACKLOG, serverOpts: { recvBufferSize: 65536 } });
      sim.runUntil(() => t.server !== undefined, 10_000, 'accept');
      const listener = (sim.server as unknown as { listeners: Map<number, Listener[]> }).listeners.get(80)![0]!;
      const victim = t.server as Connection;
      const tuple = { srcPort: t.client.localPort, dstPort: 80 };
      const k0 = sim.server.stats();
      let maxConns = 0;
      let maxSynQueue = 0;
      let maxRanges = 0;
      const start = sim.clock.now();
      for (let tick = 0; tick < 200 && !t.done(); tick++) {
        for (let i = 0; i < 100; i++) {
          const r = rng.nextU32() % 6;
          const src = spoofed(rng);
          const port = 1024 + (rng.nextU32() % 60000);
          const sq = rng.nextU32();
          const ak = rng.nextU32();
          if (r === 0 || r === 1) inject(sim, src, { seq: sq, ack: 0, flags: 'SYN', srcPort: port, dstPort: 80, mss: 1460, sackPermitted: true, ts: [sq, 0], wscale: 7 });
          else if (r === 2) inject(sim, src, { seq: sq, ack: ak, flags: 'ACK', srcPort: port, dstPort: 80, payload: 'GET /' });
          else if (r === 3) inject(sim, CLIENT, { seq: victim.rcvNxt + 1 + (sq % 60_000), ack: 0, flags: 'RST', ...tuple }); // in window, not exact
          else if (r === 4) inject(sim, CLIENT, { seq: sq, ack: ak, flags: 'ACK', ...tuple, payload: 'spoofed data' });
          else inject(sim, CLIENT, { seq: sq, ack: ak, flags: 'RST,ACK', ...tuple });
        }
        maxConns = Math.max(maxConns, sim.server.diagnostics().connections);
        maxSynQueue = Math.max(maxSynQueue, listener.synQueue.size);
        maxRanges = Math.max(maxRanges, victim.rcvBuf?.rangeCount ?? 0);
        sim.advance(10);
      }
      sim.runUntil(t.done, 600_000, 'transfer');
      const r = t.finish();
      expect(r.rxHash).toBe(r.txHash);
      expect(t.errors).toEqual([]);
      const k = sim.server.stats();
      const seconds = Math.ceil((sim.clock.now() - start) / 1000) + 1;
      // SYN queue and connection table bounded by the backlog; the rest answered statelessly.
      expect(maxSynQueue).toBeLessThanOrEqual(BACKLOG);
      expect(maxConns).toBeLessThanOrEqual(BACKLOG + 2);
      expect(k.SyncookiesSent - k0.SyncookiesSent).toBeGreaterThan(1000);
      // Random ACKs never pass as cookies.
      expect(k.SyncookiesRecv).toBe(0);
      expect(k.SyncookiesFailed).toBeGreaterThan(1000);
      // Blind RSTs and ACKs: challenge ACKs within the per-second budget (RFC 5961 section 7).
      expect(k.TCPChallengeACK).toBeLessThanOrEqual(sim.server.config.challengeAckLimit * seconds);
      expect(k.TCPChallengeACK + k.TCPACKSkippedChallenge).toBeGreaterThan(1000);
      expect(maxRanges).toBeLessThanOrEqual(32);
      // Half-open connections expire: 1 + 2 + 4 + 8 + 16 + 32 s of SYN-ACK retries.
      sim.advance(130_000);
      expect(sim.server.diagnostics().connections).toBeLessThanOrEqual(1);
      expect(listener.synQueue.size).toBe(0);
    });
  }

  it('SYN flood without cookies: the SYN queue stays at the backlog and drains after synAckRetries', () => {
    const sim = new TcpSim({ seed: 5, path: { delayMs: 5 }, serverConfig: { syncookies: 'off' } });
    const l = sim.server.listen(SERVER, 80, BACKLOG) as Listener;
    const rng = new SeededRng(99);
    for (let tick = 0; tick < 100; tick++) {
      for (let i = 0; i < 200; i++) {
        inject(sim, spoofed(rng), { seq: rng.nextU32(), ack: 0, flags: 'SYN', srcPort: 1024 + (rng.nextU32() % 60000), dstPort: 80, mss: 1460 });
      }
      expect(l.synQueue.size).toBeLessThanOrEqual(BACKLOG);
      expect(sim.server.diagnostics().connections).toBeLessThanOrEqual(BACKLOG);
      sim.advance(100);
    }
    expect(sim.server.stats().ListenDrops).toBeGreaterThan(19_000);
    sim.advance(130_000);
    expect(sim.server.diagnostics()).toMatchObject({ connections: 0, pendingAcks: 0 });
    l.close();
    expect(sim.server.diagnostics()).toMatchObject({ connections: 0, listeners: 0, ports: 0, portHolders: 0 });
    expect(sim.clock.nextDeadline()).toBeUndefined();
  });

  it('in-window out-of-order garbage: at most 32 ranges held, within the receive buffer', () => {
    const sim = new TcpSim({ seed: 3, path: { delayMs: 1 } });
    // The client's 1000-byte send buffer holds back the rest of its 2000 bytes (and so its FIN,
    // which would otherwise ride on the data segment) while the flood runs.
    const t = sim.startTransfer(2000, { clientOpts: { sendBufferSize: 1000 }, serverOpts: { recvBufferSize: 100_000 }, pauseReaderUntil: 1e9 });
    sim.runUntil(() => t.server !== undefined && t.server.readableLength === 1000, 10_000, 'first data');
    const victim = t.server as Connection;
    const rng = new SeededRng(4);
    const tuple = { srcPort: t.client.localPort, dstPort: 80 };
    for (let i = 0; i < 20_000; i++) {
      const off = 2 + (rng.nextU32() % 90_000);
      inject(sim, CLIENT, { seq: victim.rcvNxt + off, ack: victim.sndMax, flags: 'ACK', ...tuple, payload: new Uint8Array(1 + (rng.nextU32() % 3)) });
      expect(victim.rcvBuf!.rangeCount).toBeLessThanOrEqual(32);
    }
    expect(victim.rcvBuf!.outOfOrderBytes).toBeLessThan(100_000);
    expect(victim.state).toBe('ESTABLISHED');
  });
});
