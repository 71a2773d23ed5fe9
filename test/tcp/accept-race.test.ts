/**
 * A SYN answered twice: once with a SYN cookie (the SYN queue was full) and once with state
 * (the peer retransmitted its SYN after the queue drained). The peer takes whichever SYN-ACK
 * comes first; if that was the cookie, its ACK does not acknowledge the half-open
 * connection's SYN-ACK. Linux (tcp_check_req returns the listener, tcp_v4_cookie_check) then
 * validates it as a cookie ACK and opens the connection; a RST there would kill a connection
 * the peer already reported as established (the accept anomaly of the idle-connections
 * benchmark: 512 connects in flight against backlog 511, with server stalls).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness, type Seg } from '../helpers/tcp-peer.js';

function syn(h: TcpHarness, port: number): Seg[] {
  h.send({ seq: 5000 + port, ack: 0, flags: 'SYN', srcPort: port, mss: 1460 });
  return h.drain();
}

function ack(h: TcpHarness, port: number, synAck: Seg): Seg[] {
  h.send({ seq: 5001 + port, ack: synAck.seq + 1, flags: 'ACK', srcPort: port, window: 1000 });
  return h.drain();
}

describe('SYN answered by a cookie and by a half-open connection', () => {
  it('the ACK of the cookie SYN-ACK opens the connection; the half-open one is dropped, no RST', () => {
    const h = new TcpHarness();
    const l = h.listen(1);
    const [sa1] = syn(h, 1001); // fills the SYN queue
    const [cookie] = syn(h, 1002); // queue full: a cookie SYN-ACK, no state
    expect(h.layer.stats().SyncookiesSent).toBe(1);
    expect(ack(h, 1001, sa1!)).toEqual([]); // 1001 established: the SYN queue has room again
    const [sa2] = syn(h, 1002); // the peer's retransmitted SYN: a half-open connection, another ISS
    expect(sa2!.flags).toBe('SYN,ACK');
    expect(sa2!.seq).not.toBe(cookie!.seq);
    const out = ack(h, 1002, cookie!); // the peer took the cookie SYN-ACK
    expect(out.filter((s) => s.flags.includes('RST'))).toEqual([]);
    expect(h.layer.stats().SyncookiesRecv).toBe(1);
    expect(l.pendingCount).toBe(2);
    const conns = h.layer.connections().filter((c) => c.remotePort === 1002);
    expect(conns.map((c) => c.state)).toEqual(['ESTABLISHED']);
    expect(conns[0]!.iss).toBe((cookie!.seq >>> 0) as typeof conns[0]['iss']);
    // The half-open connection's SYN-ACK is not retransmitted any more.
    h.advance(10_000);
    expect(h.drain().filter((s) => s.dstPort === 1002)).toEqual([]);
    // The peer's duplicate ACK (its answer to the second SYN-ACK) reaches the connection: no RST.
    h.send({ seq: 6003, ack: cookie!.seq + 1, flags: 'ACK', srcPort: 1002, window: 1000 });
    expect(h.drain().filter((s) => s.flags.includes('RST'))).toEqual([]);
  });

  it('an ACK that is no cookie still draws the RST of RFC 9293 (SYN-RECEIVED, unacceptable ACK)', () => {
    const h = new TcpHarness();
    h.listen(1);
    syn(h, 1001);
    syn(h, 1002); // cookies are active now
    const [sa] = syn(h, 1001); // retransmitted SYN for the half-open 1001: the SYN-ACK again
    h.send({ seq: 6002, ack: sa!.seq + 7, flags: 'ACK', srcPort: 1001, window: 1000 });
    const out = h.drain();
    expect(out.map((s) => [s.flags, s.seq])).toEqual([['RST', (sa!.seq + 7) >>> 0]]);
    expect(h.layer.connections().filter((c) => c.remotePort === 1001).map((c) => c.state)).toEqual(['SYN-RECEIVED']);
  });
});
