/**
 * What an idle ESTABLISHED connection holds (memory per connection): no send buffer object
 * until the first write or the FIN, and no clock Timer while none of its sub-timers is
 * armed. The FIN of a connection that never wrote still goes out and is retransmitted.
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/tcp/connection.js';
import { TcpHarness } from '../helpers/tcp-peer.js';

describe('idle connection footprint', () => {
  it('after the handshake: no send buffer, no clock Timer', () => {
    const h = new TcpHarness();
    const c = h.established().conn as Connection;
    expect(c.sendBuf).toBeUndefined();
    expect(c.clockTimer).toBeUndefined();
    expect(c.writableLength).toBe(c.options.sendBufferSize);
  });

  it('the Timer comes with an armed sub-timer and goes with the last one (keepalive on, then off)', () => {
    const h = new TcpHarness();
    const c = h.established().conn as Connection;
    c.setOptions({ keepAlive: true, keepIdle: 10 });
    expect(c.keepTimer.deadline).toBe(h.clock.now() + 10_000);
    expect(c.clockTimer?.deadline).toBe(c.keepTimer.deadline);
    c.setOptions({ keepAlive: false });
    expect(c.keepTimer.deadline).toBeUndefined();
    expect(c.clockTimer).toBeUndefined();
    // Keepalive still works through a Timer made again: probe after keepIdle.
    c.setOptions({ keepAlive: true, keepIdle: 5 });
    h.advance(5_000);
    h.expectSent({ flags: 'ACK', seq: h.ourNxt - 1, ack: h.peerNxt });
  });

  it('close() without a write: the FIN takes the send buffer, is retransmitted after the RTO, then acknowledged', () => {
    const h = new TcpHarness();
    const c = h.established().conn as Connection;
    c.close();
    expect(c.sendBuf).toBeDefined();
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt, ack: h.peerNxt });
    expect(c.clockTimer).toBeDefined();
    h.advance(c.rtt.rto);
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt, ack: h.peerNxt });
    h.send(h.seg({ ack: h.ourNxt + 1 }));
    expect(c.state).toBe('FIN-WAIT-2');
  });
});
