/**
 * The send buffer is created on the first write() or FIN (connection.ts ensureSendBuf), so
 * setOptions() may run before it exists. A send buffer size the buffer would refuse
 * (SendBuffer.resize: not a positive number) is refused then too, as it is once the buffer
 * exists, instead of being kept and breaking the later write() or close().
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/tcp/connection.js';
import { TcpHarness } from '../helpers/tcp-peer.js';

describe('send buffer size before the first write', () => {
  it('an invalid sendBufferSize is refused; write() and close() still work', () => {
    const h = new TcpHarness();
    const c = h.established().conn as Connection;
    expect(c.sendBuf).toBeUndefined();
    const before = c.options.sendBufferSize;
    c.setOptions({ sendBufferSize: 0 });
    expect(c.options.sendBufferSize).toBe(before);
    expect(c.write(new TextEncoder().encode('hi'))).toBe(2);
    h.expectSent({ flags: 'PSH,ACK', payload: 'hi' });
    c.close();
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt + 2 });
  });

  it('close() without a write after an invalid sendBufferSize sends the FIN', () => {
    const h = new TcpHarness();
    const c = h.established().conn as Connection;
    c.setOptions({ sendBufferSize: -1 });
    c.close();
    expect(c.state).toBe('FIN-WAIT-1');
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt });
  });

  it('a valid size set before the first write sizes the buffer made later', () => {
    const h = new TcpHarness();
    const c = h.established().conn as Connection;
    c.setOptions({ sendBufferSize: 3 });
    expect(c.options.sendBufferSize).toBe(3);
    expect(c.writableLength).toBe(3);
    expect(c.write(new TextEncoder().encode('abcdef'))).toBe(3);
    expect(c.sendBuf?.capacity).toBe(3);
  });
});
