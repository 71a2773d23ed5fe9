/**
 * Listener queues (Linux semantics), SYN cookies (RFC 4987 3.6), port reservations.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL, LOCAL_PORT, REMOTE, TcpHarness, type Seg } from '../helpers/tcp-peer.js';

function syn(h: TcpHarness, port: number, o: { ts?: [number, number]; wscale?: number; sack?: boolean; mss?: number } = {}): Seg[] {
  h.send({ seq: 5000 + port, ack: 0, flags: 'SYN', srcPort: port, mss: o.mss ?? 1460, ...(o.ts ? { ts: o.ts } : {}), ...(o.wscale !== undefined ? { wscale: o.wscale } : {}), ...(o.sack ? { sackPermitted: true } : {}) });
  return h.drain();
}

function ack(h: TcpHarness, port: number, synAck: Seg, extra: { ts?: [number, number]; payload?: string } = {}): Seg[] {
  h.send({ seq: 5001 + port, ack: synAck.seq + 1, flags: 'ACK', srcPort: port, window: 1000, ...extra });
  return h.drain();
}

describe('SYN queue and accept queue', () => {
  it('SYN queue full without cookies: the SYN is dropped (ListenDrops)', () => {
    const h = new TcpHarness({ config: { syncookies: 'off' } });
    h.listen(2);
    expect(syn(h, 1001)).toHaveLength(1);
    expect(syn(h, 1002)).toHaveLength(1);
    expect(syn(h, 1003)).toHaveLength(0);
    expect(h.layer.stats().ListenDrops).toBe(1);
  });

  it('SYN queue full at backlog 0 without cookies: every SYN is dropped (Linux reqsk_queue_is_full: 0 >= 0)', () => {
    const h = new TcpHarness({ config: { syncookies: 'off' } });
    h.listen(0);
    expect(syn(h, 1001)).toHaveLength(0);
    expect(h.layer.stats().ListenDrops).toBe(1);
  });

  it('accept queue over the backlog: SYNs dropped and the completing ACK dropped (ListenOverflows); the child completes later', () => {
    const h = new TcpHarness({ config: { syncookies: 'off' } });
    const l = h.listen(2);
    const sa1 = syn(h, 1001)[0]!;
    const sa2 = syn(h, 1002)[0]!;
    ack(h, 1001, sa1);
    ack(h, 1002, sa2);
    const sa3 = syn(h, 1003)[0]!;
    const sa4 = syn(h, 1004)[0]!;
    ack(h, 1003, sa3);
    // Linux sk_acceptq_is_full() is "more than backlog": three may wait, the fourth ACK is dropped.
    expect(l.pendingCount).toBe(3);
    ack(h, 1004, sa4);
    expect(l.pendingCount).toBe(3);
    expect(h.layer.stats().ListenOverflows).toBe(1);
    expect(syn(h, 1005)).toHaveLength(0); // and new SYNs too
    expect(h.layer.stats().ListenOverflows).toBe(2);
    l.accept();
    l.accept();
    // The half-open child retransmits its SYN-ACK; the client's ACK now completes it.
    h.advance(1000);
    const re = h.drain();
    expect(re.map((s) => [s.flags, s.dstPort])).toEqual([['SYN,ACK', 1004]]);
    ack(h, 1004, sa4);
    expect(l.pendingCount).toBe(2);
  });

  it('closing the listener resets connections not yet accepted', () => {
    const h = new TcpHarness();
    const l = h.listen(4);
    const sa1 = syn(h, 1001)[0]!;
    ack(h, 1001, sa1);
    syn(h, 1002);
    l.close();
    const rsts = h.drain();
    expect(rsts.map((s) => `${s.flags} ${s.dstPort}`).sort()).toEqual(['RST,ACK 1001', 'RST,ACK 1002']);
    expect(h.layer.connections()).toHaveLength(0);
    // The port is free again.
    expect(h.layer.listen(LOCAL, LOCAL_PORT, 1)).not.toBe('EADDRINUSE');
  });
});

describe('SYN cookies (RFC 4987 3.6, Linux net/ipv4/syncookies.c)', () => {
  it('SYN queue full: a cookie SYN-ACK; its ACK creates the connection directly (SyncookiesSent/Recv)', () => {
    const h = new TcpHarness();
    const l = h.listen(1);
    syn(h, 1001); // fills the SYN queue
    const [sa] = syn(h, 1002);
    expect(sa!.flags).toBe('SYN,ACK');
    expect(h.layer.connections()).toHaveLength(1); // no state for the cookie
    expect(h.layer.stats().SyncookiesSent).toBe(1);
    expect(sa!.mss).toBe(1460);
    // Without timestamps, no window scale or SACK survive the cookie (Linux clears them).
    expect(sa!.wscale).toBeUndefined();
    ack(h, 1002, sa!, { payload: 'hi' });
    expect(h.layer.stats().SyncookiesRecv).toBe(1);
    expect(l.pendingCount).toBe(1);
    const c = l.accept()!;
    expect(c.remotePort).toBe(1002);
    expect(c.state).toBe('ESTABLISHED');
    expect(c.readableLength).toBe(2); // data on the ACK is kept
    expect(c.info().mss).toBe(1460);
    expect(c.info().sndWscale).toBe(0);
  });

  it('with timestamps, window scale and SACK-permitted come back from TSecr', () => {
    const h = new TcpHarness({ config: { syncookies: 'always' } });
    const l = h.listen(10);
    const [sa] = syn(h, 1001, { ts: [777, 0], wscale: 6, sack: true });
    expect(sa!.ts![1]).toBe(777);
    expect(sa!.wscale).toBe(3);
    expect(sa!.sackPermitted).toBe(true);
    ack(h, 1001, sa!, { ts: [778, sa!.ts![0]] });
    const c = l.accept()!;
    const i = c.info();
    expect(i.sndWscale).toBe(6);
    expect(i.rcvWscale).toBe(3);
    expect(i.sackEnabled).toBe(true);
    expect(i.timestampsEnabled).toBe(true);
    expect(i.sndWnd).toBe(1000 << 6);
  });

  it('the cookie encodes the MSS from the table (536, 1300, 1440, 1460)', () => {
    const h = new TcpHarness({ config: { syncookies: 'always' } });
    const l = h.listen(10);
    const [sa] = syn(h, 1001, { mss: 1400 });
    ack(h, 1001, sa!);
    expect(l.accept()!.info().mss).toBe(1300);
  });

  it('an ACK with an invalid cookie is answered with RST (like Linux) and counted (SyncookiesFailed)', () => {
    const h = new TcpHarness({ config: { syncookies: 'always' } });
    h.listen(10);
    const [sa] = syn(h, 1001);
    h.send({ seq: 6002, ack: sa!.seq + 2, flags: 'ACK', srcPort: 1001 });
    h.expectSent({ flags: 'RST', seq: sa!.seq + 2 });
    expect(h.layer.stats().SyncookiesFailed).toBe(1);
    expect(h.layer.connections()).toHaveLength(0);
  });

  it('a cookie expires after two counter periods', () => {
    const h = new TcpHarness({ config: { syncookies: 'always' } });
    h.listen(10);
    const [sa] = syn(h, 1001);
    h.advance(130_000);
    ack(h, 1001, sa!);
    expect(h.layer.stats().SyncookiesFailed).toBe(1);
  });
});

describe('ports (TcpService.bind / listen / connect)', () => {
  it('bind conflicts like Linux: EADDRINUSE unless both sides reuse and nobody listens', () => {
    const h = new TcpHarness();
    const L = h.layer;
    expect(L.bind(LOCAL, 8080, false)).toEqual({ port: 8080 });
    expect(L.bind(0, 8080, false)).toBe('EADDRINUSE');
    expect(L.bind(LOCAL + 1, 8080, false)).toEqual({ port: 8080 }); // other address
    expect(L.bind(LOCAL, 9090, true)).toEqual({ port: 9090 });
    expect(L.bind(LOCAL, 9090, true)).toEqual({ port: 9090 });
    expect(L.listen(LOCAL, 9090, 5)).not.toBe('EADDRINUSE');
    expect(L.listen(LOCAL, 9090, 5)).toBe('EADDRINUSE');
    expect(L.bind(LOCAL, 9090, true)).toBe('EADDRINUSE');
    L.unbind(LOCAL, 8080);
    expect(L.bind(LOCAL, 8080, false)).toEqual({ port: 8080 });
  });

  it('port 0 picks distinct ephemeral ports in 32768..60999', () => {
    const h = new TcpHarness();
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const r = h.layer.bind(LOCAL, 0, false);
      if (typeof r === 'string') throw new Error(r);
      expect(r.port).toBeGreaterThanOrEqual(32768);
      expect(r.port).toBeLessThanOrEqual(60999);
      seen.add(r.port);
    }
    expect(seen.size).toBe(50);
  });

  it('a TIME-WAIT connection holds its port unless SO_REUSEADDR', () => {
    const h = new TcpHarness();
    h.establishedActive();
    const conn = h.conn!;
    conn.close();
    h.drain();
    h.send({ seq: h.peerNxt, ack: h.ourNxt + 1, flags: 'FIN,ACK', srcPort: 80, dstPort: 50000 });
    expect(conn.state).toBe('TIME-WAIT');
    expect(h.layer.bind(LOCAL, 50000, false)).toBe('EADDRINUSE');
    expect(h.layer.bind(LOCAL, 50000, true)).toEqual({ port: 50000 });
  });

  it('connect to a multicast or broadcast address is refused (MUST-46)', () => {
    const h = new TcpHarness();
    expect(h.layer.connect(LOCAL, 0, 0xe0000001, 80, h.rec)).toBe('ENETUNREACH');
    expect(h.layer.connect(LOCAL, 0, 0xffffffff, 80, h.rec)).toBe('ENETUNREACH');
  });

  it('MAY-2: a new SYN (higher sequence number) reopens a connection in TIME-WAIT', () => {
    const h = new TcpHarness();
    const conn = h.timeWait();
    const l = h.listener!;
    h.send({ seq: h.peerNxt + 100_000, ack: 0, flags: 'SYN', mss: 1460 });
    const sa = h.expectSent({ flags: 'SYN,ACK', ack: h.peerNxt + 100_001 });
    expect(conn.state).toBe('CLOSED');
    // The new ISS is above the old connection's sequence space.
    expect(((sa.seq - h.ourNxt) | 0) > 0).toBe(true);
    void l;
    void REMOTE;
  });
});

describe('RFC 9293 3.9.1.1 OPEN', () => {
  it('MUST-42: LISTEN on a port while a connection from that port is in SYN-SENT (with SO_REUSEADDR, as on Linux)', () => {
    const h = new TcpHarness();
    expect(h.layer.bind(LOCAL, 7000, true)).toEqual({ port: 7000 });
    const c = h.layer.connect(LOCAL, 7000, REMOTE, 9, h.rec);
    if (typeof c === 'string') throw new Error(c);
    h.expectSent({ flags: 'SYN' });
    expect(h.layer.bind(LOCAL, 7000, true)).toEqual({ port: 7000 });
    const l = h.layer.listen(LOCAL, 7000, 4);
    expect(typeof l).toBe('object');
    h.send({ seq: 1, ack: 0, flags: 'SYN', srcPort: 4444, dstPort: 7000 });
    expect(h.expectSent({ flags: 'SYN,ACK' }).dstPort).toBe(4444);
    expect(c.state).toBe('SYN-SENT');
  });

  it('MUST-44: without a local address the SYN uses the address IP gives us', () => {
    const h = new TcpHarness();
    const c = h.layer.connect(0, 0, REMOTE, 80, h.rec);
    if (typeof c === 'string') throw new Error(c);
    expect(c.localAddr).toBe(LOCAL);
    const syn = h.expectSent({ flags: 'SYN' });
    expect(syn.src).toBe(LOCAL);
  });

  it('MUST-41: each SYN to a listener makes its own connection record', () => {
    const h = new TcpHarness();
    const l = h.listen(8);
    const a = syn(h, 2001)[0]!;
    const b = syn(h, 2002)[0]!;
    ack(h, 2001, a);
    ack(h, 2002, b);
    const c1 = l.accept()!;
    const c2 = l.accept()!;
    expect([c1.remotePort, c2.remotePort].sort()).toEqual([2001, 2002]);
    expect(c1).not.toBe(c2);
  });
});
