/**
 * Server bookkeeping of accepted sockets (a count told by each socket's _destroy, as Node's
 * net.Server._connections): getConnections(), and close() emitting 'close' only once every
 * accepted socket is gone. The server adds no listener to its sockets.
 */
import { describe, expect, it } from 'vitest';
import { createNet, type TcpSocket } from '../../src/socket/index.js';
import { LOCAL, LOCAL_PORT, REMOTE_ISS, TcpHarness } from '../helpers/tcp-peer.js';
import { settle } from '../helpers/socket-drive.js';

function connectPeer(h: TcpHarness, port: number): void {
  h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: port });
  const sa = h.drain().find((s) => s.flags.includes('SYN'))!;
  h.send({ seq: REMOTE_ISS + 1, ack: sa.seq + 1, flags: 'ACK', srcPort: port });
}

const count = (srv: { getConnections(cb: (e: Error | null, n: number) => void): unknown }): Promise<number> =>
  new Promise((r) => srv.getConnections((_e, n) => r(n)));

describe('stream Server: accepted sockets', () => {
  it('counts sockets until destroyed; close() emits once the last one is gone', async () => {
    const h = new TcpHarness();
    const net = createNet({ tcp: h.layer, clock: h.clock, localAddr: LOCAL });
    const socks: TcpSocket[] = [];
    const srv = net.createServer((s) => socks.push(s)).listen(LOCAL_PORT);
    await settle();
    for (const p of [41001, 41002, 41003]) connectPeer(h, p);
    await settle();
    expect(socks).toHaveLength(3);
    expect(socks[0]!.listenerCount('close')).toBe(0);
    expect(await count(srv)).toBe(3);
    socks[0]!.destroy();
    await settle();
    expect(await count(srv)).toBe(2);
    let closed = false;
    srv.close(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    socks[1]!.destroy();
    socks[1]!.destroy(); // twice: counted once
    await settle();
    expect(await count(srv)).toBe(1);
    expect(closed).toBe(false);
    socks[2]!.resetAndDestroy();
    await settle();
    expect(await count(srv)).toBe(0);
    expect(closed).toBe(true);
  });
});
