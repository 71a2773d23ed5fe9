/**
 * Protocol behaviour observed end to end between two TcpLayers on virtual time:
 * SACK repair cost, RTO backoff, congestion window reactions, NewReno vs CUBIC, zero-window
 * stalls, SYN floods against a tiny backlog, keepalive against a dead peer.
 */
import { describe, expect, it } from 'vitest';
import { buildSegment } from '../helpers/tcp-peer.js';
import { CLIENT, SERVER, TcpSim } from '../helpers/tcp-sim.js';

const MB = 1 << 20;
const DATA = (s: { from: number; payloadLen: number }): boolean => s.from === CLIENT && s.payloadLen > 0;

describe('loss recovery cost', () => {
  it('SACK recovery retransmits only the dropped segments (RFC 6675)', () => {
    const dropped = new Set<number>();
    let dataSeen = 0;
    const sim = new TcpSim({
      seed: 11,
      path: {
        delayMs: 10,
        // Drop 30 scattered original data segments (never a retransmission, never near the
        // tail, where only an RTO could repair a loss without a tail-loss probe).
        dropIf: (s) => {
          if (!DATA(s)) return false;
          const first = !dropped.has(s.seq) && dataSeen++ % 37 === 5 && dropped.size < 30;
          if (first) dropped.add(s.seq);
          return first;
        },
      },
    });
    const r = sim.transfer(2 * MB);
    expect(r.rxHash).toBe(r.txHash);
    expect(dropped.size).toBe(30);
    expect(r.clientStats.TCPTimeouts).toBe(0);
    expect(r.clientStats.TCPSackRecovery).toBeGreaterThan(0);
    // Every retransmission repaired a drop: retransmitted bytes == dropped bytes.
    const seen = new Map<number, number>();
    let rtxBytes = 0;
    for (const s of sim.log) {
      if (!DATA(s)) continue;
      if (seen.has(s.seq)) rtxBytes += s.payloadLen;
      seen.set(s.seq, s.payloadLen);
    }
    expect(r.clientStats.RetransSegs).toBe(dropped.size);
    expect(rtxBytes).toBe(sim.c2s.droppedPayload);
    expect(sim.c2s.droppedPayload).toBe(30 * r.client.info().mss);
  });
});

describe('retransmission timeout', () => {
  it('backs off exponentially: 1, 2, 4, 8, 16 s when the path dies', () => {
    const sim = new TcpSim({ seed: 3, path: { delayMs: 5 } });
    const t = sim.startTransfer(4 * MB);
    sim.runUntil(() => t.state.received > MB, 60_000, '1 MB received');
    const deadAt = sim.clock.now();
    sim.up = false;
    sim.advance(40_000);
    const sends = sim.log.filter((s) => DATA(s) && s.time > deadAt + 100).map((s) => s.time);
    const gaps = sends.slice(1).map((x, i) => Math.round(x - sends[i]!));
    expect(gaps.slice(0, 4)).toEqual([2000, 4000, 8000, 16000]);
    expect(t.client.info().cwnd).toBe(t.client.info().mss); // RFC 5681 3.1: loss window
    // The path comes back: the transfer completes.
    sim.up = true;
    sim.runUntil(t.done, 600_000, 'transfer after outage');
    const r = t.finish();
    expect(r.rxHash).toBe(r.txHash);
  });
});

describe('congestion control reactions', () => {
  it('NewReno: cwnd halves on fast recovery (ssthresh = FlightSize/2) and the transfer completes', () => {
    let dropNext = false;
    let done = false;
    let conn: ReturnType<TcpSim['startTransfer']>['client'] | undefined;
    const sim = new TcpSim({
      seed: 5,
      config: { sack: false },
      path: {
        delayMs: 20,
        dropIf: (s) => {
          if (done || !dropNext || !DATA(s)) return false;
          done = true;
          return true;
        },
      },
    });
    const t = sim.startTransfer(8 * MB, { clientOpts: { congestion: 'newreno' } });
    conn = t.client;
    sim.runUntil(() => conn!.info().cwnd >= 60 * conn!.info().mss, 60_000, 'cwnd 60 segments');
    dropNext = true;
    let before = 0;
    let flightBefore = 0;
    sim.runUntil(
      () => {
        if (sim.client.stats().TCPRenoRecovery === 1) return true;
        before = conn!.info().cwnd;
        flightBefore = conn!.info().bytesInFlight;
        return false;
      },
      60_000,
      'fast recovery',
    );
    const i = t.client.info();
    // RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS), cwnd = ssthresh (+ 3 SMSS inflation, kept apart).
    expect(i.ssthresh).toBe(Math.max(Math.floor(flightBefore / 2), 2 * i.mss));
    expect(i.ssthresh / before).toBeGreaterThan(0.4);
    expect(i.ssthresh / before).toBeLessThan(0.55); // FlightSize may exceed cwnd by the limited-transmit segments
    sim.runUntil(t.done, 600_000, 'completion');
    expect(sim.client.stats().TCPTimeouts).toBe(0);
    const r = t.finish();
    expect(r.rxHash).toBe(r.txHash);
  });

  it('CUBIC regrows cwnd faster than NewReno after a loss on a long-RTT path (RFC 9438)', () => {
    function cwndAfterLoss(cc: 'newreno' | 'cubic'): number {
      let lossAt = -1;
      let conn: ReturnType<TcpSim['startTransfer']>['client'] | undefined;
      const sim = new TcpSim({
        seed: 9,
        config: { defaultSendBuffer: 8 * MB, defaultRecvBuffer: 8 * MB },
        path: {
          delayMs: 100, // RTT 200 ms
          dropIf: (s) => {
            if (lossAt >= 0 || !DATA(s) || conn === undefined) return false;
            if (conn.info().cwnd >= 200 * conn.info().mss) {
              lossAt = s.time;
              return true;
            }
            return false;
          },
        },
      });
      const t = sim.startTransfer(200 * MB, { clientOpts: { congestion: cc } });
      conn = t.client;
      sim.runUntil(() => lossAt >= 0, 120_000, 'loss');
      sim.runUntil(() => sim.clock.now() >= lossAt + 10_000 || t.done(), 120_000, '10 s after the loss');
      expect(sim.client.stats().TCPTimeouts).toBe(0);
      return t.client.info().cwnd / t.client.info().mss;
    }
    const reno = cwndAfterLoss('newreno');
    const cubic = cwndAfterLoss('cubic');
    // NewReno: half the window at the loss + about one segment per RTT (50 RTTs in 10 s);
    // CUBIC: 0.7 of it, then the cubic curve back to (and past) W_max within K seconds.
    expect(cubic).toBeGreaterThan(reno * 1.3);
  });
});

describe('flow control', () => {
  it('zero-window probes keep a stalled connection alive; it resumes when the reader drains', () => {
    const sim = new TcpSim({ seed: 4, path: { delayMs: 5 }, config: { retries2: 5 } });
    const r = sim.transfer(MB, { serverOpts: { recvBufferSize: 64 * 1024 }, pauseReaderUntil: 10 * 60_000 });
    expect(r.rxHash).toBe(r.txHash);
    expect(r.clientStats.TCPWinProbe).toBeGreaterThan(5); // more than retries2: answered probes never time out
    expect(r.virtualMs).toBeGreaterThan(10 * 60_000);
  });
});

describe('listener under attack', () => {
  it('a SYN flood on a tiny backlog still lets a legitimate client in, via SYN cookies', () => {
    const sim = new TcpSim({ seed: 8, path: { delayMs: 5 } });
    const t = sim.startTransfer(256 * 1024, { backlog: 2 });
    // Flood before the client's SYN arrives: 500 spoofed SYNs that will never complete.
    for (let i = 0; i < 500; i++) {
      const src = (0x0b000000 + i) >>> 0;
      const b = buildSegment({ seq: i * 7919, ack: 0, flags: 'SYN', mss: 1460, srcPort: 1024 + i, dstPort: 80 }, src, SERVER);
      sim.server.receive({ src, dst: SERVER, ttl: 64, tos: 0, datagram: b }, b);
    }
    sim.server.batchEnd();
    sim.runUntil(t.done, 120_000, 'transfer during the flood');
    const r = t.finish();
    expect(r.rxHash).toBe(r.txHash);
    const s = r.serverStats;
    expect(s.SyncookiesSent).toBeGreaterThanOrEqual(499);
    expect(s.SyncookiesRecv).toBe(1);
    // The half-open queue never grew past the backlog.
    expect(sim.server.connections().filter((c) => c.state === 'SYN-RECEIVED').length).toBeLessThanOrEqual(2);
  });
});

describe('keepalive', () => {
  it('kills a dead peer after idle + count * interval', () => {
    const sim = new TcpSim({ seed: 2, path: { delayMs: 5 } });
    const l = sim.server.listen(SERVER, 80, 4);
    if (typeof l === 'string') throw new Error(l);
    const events: string[] = [];
    const c = sim.client.connect(CLIENT, 0, SERVER, 80, {
      connected: () => events.push('connected'),
      readable: () => {},
      writable: () => {},
      error: (e) => events.push(`error:${e}@${sim.clock.now()}`),
      closed: () => events.push('closed'),
    }, { keepAlive: true, keepIdle: 60, keepInterval: 10, keepCount: 5 });
    if (typeof c === 'string') throw new Error(c);
    sim.advance(100);
    expect(events).toEqual(['connected']);
    const lastHeard = sim.clock.now() - 100 + 10; // the SYN-ACK arrived one RTT after connect()
    // An alive peer answers probes: nothing happens for hours.
    sim.advance(3 * 3600_000);
    expect(c.state).toBe('ESTABLISHED');
    expect(sim.client.stats().TCPKeepAlive).toBeGreaterThan(100);
    // The peer dies.
    sim.up = false;
    const died = sim.clock.now();
    sim.advance(200_000);
    expect(c.state).toBe('CLOSED');
    const err = events.find((e) => e.startsWith('error:'))!;
    expect(err.split('@')[0]).toBe('error:ETIMEDOUT');
    const at = Number(err.split('@')[1]);
    // Last answer at most one interval before the path died; death idle + 5*10 s after it.
    expect(at - died).toBeGreaterThan(50_000);
    expect(at - died).toBeLessThanOrEqual(60_000 + 50_000);
    void lastHeard;
  });
});
