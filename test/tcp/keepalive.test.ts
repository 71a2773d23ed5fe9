/**
 * Keep-alives (RFC 9293 3.8.4, RFC 1122 4.2.3.6): off by default (MUST-25), only after
 * `idle` of silence (MUST-26), configurable (MUST-27), default 2 hours (MUST-28), tolerant of
 * lost probes (MUST-29), probes carry no data (SHLD-12). Linux: <SEQ=SND.NXT-1>, and after
 * `count` unanswered probes a RST and ETIMEDOUT.
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

describe('keepalive', () => {
  it('is off by default', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    expect(conn.options.keepAlive).toBe(false);
    h.advance(3 * 3600_000);
    h.expectNothing();
    expect(conn.state).toBe('ESTABLISHED');
  });

  it('defaults: 7200 s idle, 75 s interval, 9 probes', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    expect([conn.options.keepIdle, conn.options.keepInterval, conn.options.keepCount]).toEqual([7200, 75, 9]);
    conn.setOptions({ keepAlive: true });
    h.advance(7200_000 - 1);
    h.expectNothing();
    h.advance(1);
    h.expectSent({ flags: 'ACK', seq: h.ourNxt - 1, payload: '' });
  });

  it('a dead peer is reset after idle + count*interval (ETIMEDOUT, RST like Linux)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.setOptions({ keepAlive: true, keepIdle: 10, keepInterval: 2, keepCount: 3 });
    const probes: number[] = [];
    for (let t = 0; t < 20_000; t += 100) {
      h.advance(100);
      for (const s of h.drain()) {
        if (s.flags === 'ACK') {
          expect(s.seq).toBe((h.ourNxt - 1) >>> 0);
          expect(s.payload.length).toBe(0);
          probes.push(h.clock.now());
        } else {
          expect(s.flags).toBe('RST,ACK');
          probes.push(-h.clock.now());
        }
      }
    }
    expect(probes).toEqual([10_000, 12_000, 14_000, -16_000]);
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ETIMEDOUT', 'closed']);
    expect(h.layer.stats().TCPKeepAlive).toBe(3);
  });

  it('an answered probe keeps the connection; the idle time restarts from the answer (MUST-29)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.setOptions({ keepAlive: true, keepIdle: 10, keepInterval: 2, keepCount: 3 });
    h.advance(10_000);
    h.expectSent({ seq: h.ourNxt - 1 });
    h.advance(1_000);
    h.send(h.seg());
    h.advance(9_999);
    h.expectNothing();
    h.advance(1);
    h.expectSent({ seq: h.ourNxt - 1 });
    expect(conn.state).toBe('ESTABLISHED');
  });

  it('traffic from the peer postpones the first probe (only after idle, MUST-26)', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.setOptions({ keepAlive: true, keepIdle: 10, keepInterval: 2, keepCount: 3 });
    h.advance(8_000);
    h.send(h.seg({ payload: 'x' }));
    h.drain();
    h.advance(9_000);
    h.advance(500);
    h.drain();
    h.advance(500);
    h.expectSent({ seq: h.ourNxt - 1 });
  });
});
