/**
 * When a read() sends a window update. The SYN-ACK offers at most 65535 octets (unscaled,
 * RFC 7323 2.2) while the buffer may hold 256 KiB: the first read after the handshake must not
 * cost a pure window-update segment (Linux sends none: its window grows through
 * rcv_ssthresh), the next segment we send carries the wider window anyway. A read that opens a
 * small window still updates at once (tested with a zero window in window.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const fill = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);

describe('window update after read()', () => {
  it('no pure window update after the first read of a request; the reply carries the scaled window', () => {
    const h = new TcpHarness();
    const { conn, synAck } = h.established({ mss: 1460, wscale: 7 }, { recvBufferSize: 256 * 1024 });
    expect(synAck.window).toBe(65535);
    h.send(h.seg({ payload: 'request' }));
    h.expectNothing(); // delayed ACK
    expect(conn.read(new Uint8Array(100))).toBe(7);
    h.expectNothing();
    conn.write(fill(1));
    const reply = h.expectSent({ payload: fill(1), ack: h.peerNxt + 7 });
    expect(reply.window << synAck.wscale!).toBe(256 * 1024);
  });

  it('a read that frees a small window (below one MSS) still sends the update at once', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 3000 });
    const p = h.peerNxt;
    h.sendBatch([0, 1].map((i) => h.seg({ seq: p + i * 1000, payload: fill(1000) })));
    h.expectSent({ ack: p + 2000, window: 1000 });
    conn.read(new Uint8Array(2000));
    h.expectSent({ ack: p + 2000, window: 3000 });
  });
});
