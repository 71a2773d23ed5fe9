/**
 * Writes made inside a connection's own callback go out when the callback returns (still in
 * the same synchronous turn): a reply and a close() in one readable() callback make ONE
 * segment, the FIN riding on the data (as Linux sends FIN with data still queued). Writes made
 * from outside the callbacks are sent at once.
 */
import { describe, expect, it } from 'vitest';
import type { TcpConnection, TcpConnectionHandler } from '../../src/tcp/api.js';
import { TcpHarness } from '../helpers/tcp-peer.js';

const noop = (): void => {};

function on(conn: TcpConnection, readable: () => void): void {
  const h: TcpConnectionHandler = { connected: noop, readable, writable: noop, error: noop, closed: noop };
  conn.setHandler(h);
}

describe('writes from inside a callback', () => {
  it('reply + close() in readable(): one segment with the data, PSH and FIN', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    on(conn, () => {
      const buf = new Uint8Array(100);
      conn.read(buf);
      expect(conn.write(new TextEncoder().encode('reply'))).toBe(5);
      conn.close();
    });
    h.send(h.seg({ payload: 'request' }));
    h.expectSent({ flags: 'FIN,PSH,ACK', seq: h.ourNxt, ack: h.peerNxt + 7, payload: 'reply' });
    expect(conn.state).toBe('FIN-WAIT-1');
  });

  it('two writes in one callback share a segment (TCP_NODELAY)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460 }, { noDelay: true });
    on(conn, () => {
      conn.read(new Uint8Array(100));
      conn.write(new TextEncoder().encode('ab'));
      conn.write(new TextEncoder().encode('cd'));
    });
    h.send(h.seg({ payload: 'x' }));
    h.expectSent({ flags: 'PSH,ACK', payload: 'abcd', ack: h.peerNxt + 1 });
  });

  it('from outside the callbacks a write is sent at once; the FIN follows in its own segment', () => {
    const h = new TcpHarness();
    const { conn } = h.established();
    conn.write(new TextEncoder().encode('data'));
    h.expectSent({ flags: 'PSH,ACK', payload: 'data' });
    conn.close();
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt + 4 });
  });
});
