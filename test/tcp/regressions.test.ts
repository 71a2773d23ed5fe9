/**
 * Regression tests from the adversarial review of the engine against RFC 9293 3.10, RFC 5681,
 * RFC 7323 and Linux (tcp_input.c, tcp_minisocks.c). Each case failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import type { TcpConnection } from '../../src/tcp/api.js';
import type { Listener } from '../../src/tcp/listener.js';
import { LOCAL, LOCAL_PORT, REMOTE, REMOTE_ISS, TcpHarness } from '../helpers/tcp-peer.js';

const fill = (n: number, v = 0x42): Uint8Array => new Uint8Array(n).fill(v);

/** ESTABLISHED with a 4000-octet receive buffer that the peer filled: our window is zero. */
function zeroRcvWindow(h: TcpHarness): { conn: TcpConnection; p: number } {
  const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 4000 });
  const p = h.peerNxt;
  h.sendBatch([0, 1, 2, 3].map((i) => h.seg({ seq: p + i * 1000, payload: fill(1000) })));
  h.expectSent({ ack: p + 4000, window: 0 });
  return { conn, p };
}

describe('zero receive window (RFC 9293 3.10.7.4 first step, MUST-66)', () => {
  it('a probe carrying one octet at RCV.NXT is answered with an ACK (window 0); the octet is not taken', () => {
    const h = new TcpHarness();
    const { conn, p } = zeroRcvWindow(h);
    // BSD/Windows-style zero-window probe: one new octet at RCV.NXT.
    h.send(h.seg({ seq: p + 4000, payload: 'x' }));
    h.expectSent({ flags: 'ACK', ack: p + 4000, window: 0 });
    expect(conn.readableLength).toBe(4000);
    expect(conn.state).toBe('ESTABLISHED');
    expect(h.layer.stats().DropOutOfWindow).toBe(1);
  });

  it('a bare FIN at RCV.NXT is accepted even with the window closed (Linux tcp_data_queue)', () => {
    const h = new TcpHarness();
    const { conn, p } = zeroRcvWindow(h);
    h.send(h.seg({ seq: p + 4000, flags: 'FIN,ACK' }));
    h.expectSent({ flags: 'ACK', ack: p + 4001 });
    expect(conn.state).toBe('CLOSE-WAIT');
    expect(conn.read(new Uint8Array(5000))).toBe(4000);
    expect(conn.eof).toBe(true);
  });

  it('a FIN on the segment that fills the window exactly is taken with it', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 4000 });
    const p = h.peerNxt;
    h.sendBatch([0, 1, 2, 3].map((i) => h.seg({ seq: p + i * 1000, payload: fill(1000), flags: i === 3 ? 'FIN,ACK' : 'ACK' })));
    h.expectSent({ flags: 'ACK', ack: p + 4001, window: 0 });
    expect(conn.state).toBe('CLOSE-WAIT');
  });

  it('a FIN after text trimmed at the window edge is still dropped', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 4000 });
    const p = h.peerNxt;
    h.send(h.seg({ seq: p, payload: fill(4500), flags: 'FIN,ACK' }));
    h.advance(40);
    h.expectSent({ flags: 'ACK', ack: p + 4000 });
    expect(conn.state).toBe('ESTABLISHED');
  });
});

describe('duplicate ACKs (RFC 5681 section 2)', () => {
  for (const sack of [false, true]) {
    it(`an old ACK (below SND.UNA) is not a duplicate ACK${sack ? ' (SACK)' : ''}`, () => {
      const h = new TcpHarness();
      const { conn } = h.established(sack ? { mss: 1000, sackPermitted: true } : { mss: 1000 }, { congestion: 'newreno' });
      conn.write(fill(6000));
      expect(h.drain()).toHaveLength(6);
      const base = h.ourNxt;
      h.send(h.seg({ ack: base + 2000 }));
      h.drain();
      // Two ACKs overtaken by the newer one, then one true duplicate: only one duplicate.
      h.send(h.seg({ ack: base + 1000 }));
      h.send(h.seg({ ack: base + 1000 }));
      h.send(h.seg({ ack: base + 2000 }));
      h.expectNothing();
      expect(h.layer.stats().TCPFastRetrans).toBe(0);
      // Two more true duplicates make three: fast retransmit of SND.UNA.
      h.send(h.seg({ ack: base + 2000 }));
      h.send(h.seg({ ack: base + 2000 }));
      h.expectSent({ seq: base + 2000, payload: fill(1000) });
      expect(h.layer.stats().TCPFastRetrans).toBe(1);
    });
  }
});

describe('simultaneous open completed by the peer SYN-ACK', () => {
  it('the SYN-ACK window is not scaled (RFC 7323 2.2) and data queued in SYN-SENT goes out at once', () => {
    const h = new TcpHarness();
    const { conn, syn } = h.connect();
    expect(syn.wscale).toBeGreaterThan(0);
    expect(conn.write(fill(500))).toBe(500);
    h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, wscale: 7, window: 1000, srcPort: LOCAL_PORT, dstPort: 50000 });
    h.expectSent({ flags: 'SYN,ACK', ack: REMOTE_ISS + 1 });
    h.send({ seq: REMOTE_ISS, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, wscale: 7, window: 1000, srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('ESTABLISHED');
    expect(conn.info().sndWnd).toBe(1000);
    h.expectSent({ flags: 'PSH,ACK', seq: h.ourNxt, ack: REMOTE_ISS + 1, payload: fill(500) });
  });

  it('a FIN queued by shutdown("wr") before the handshake completed goes out at once', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    h.expectSent({ flags: 'SYN,ACK' });
    conn.shutdown('wr');
    h.send({ seq: REMOTE_ISS, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('FIN-WAIT-1');
    h.expectSent({ flags: 'FIN,ACK', seq: h.ourNxt, ack: REMOTE_ISS + 1 });
  });
});

/** A passive connection from `port` taken to TIME-WAIT (we close first); timestamps when `ts`. */
function passiveTimeWait(h: TcpHarness, port: number, ts?: number): TcpConnection {
  const o = ts !== undefined ? { ts: [ts, 0] as [number, number] } : {};
  h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: port, ...o });
  const sa = h.expectSent({ flags: 'SYN,ACK' });
  const our = sa.seq + 1;
  const echo = (v: number) => (ts !== undefined ? { ts: [v, sa.ts?.[0] ?? 0] as [number, number] } : {});
  h.send({ seq: REMOTE_ISS + 1, ack: our, flags: 'ACK', srcPort: port, ...echo((ts ?? 0) + 1) });
  const conn = h.listener!.accept()!;
  conn.close();
  h.expectSent({ flags: 'FIN,ACK', seq: our });
  h.send({ seq: REMOTE_ISS + 1, ack: our + 1, flags: 'FIN,ACK', srcPort: port, ...echo((ts ?? 0) + 2) });
  h.expectSent({ flags: 'ACK', seq: our + 1, ack: REMOTE_ISS + 2 });
  return conn;
}

describe('a new SYN in TIME-WAIT (RFC 9293 MAY-2; Linux tcp_timewait_state_process)', () => {
  it('a higher sequence number reopens it even when the TSval only equals TS.Recent', () => {
    const h = new TcpHarness();
    h.listen();
    const tw = passiveTimeWait(h, 40000, 500);
    expect(tw.state).toBe('TIME-WAIT');
    h.send({ seq: REMOTE_ISS + 200_000, ack: 0, flags: 'SYN', mss: 1460, srcPort: 40000, ts: [502, 0] });
    h.expectSent({ flags: 'SYN,ACK', ack: REMOTE_ISS + 200_001 });
    expect(tw.state).toBe('CLOSED');
  });

  it('an older TSval (PAWS) keeps TIME-WAIT whatever the sequence number', () => {
    const h = new TcpHarness();
    h.listen();
    const tw = passiveTimeWait(h, 40000, 500);
    h.send({ seq: REMOTE_ISS + 200_000, ack: 0, flags: 'SYN', mss: 1460, srcPort: 40000, ts: [400, 0] });
    h.expectSent({ flags: 'ACK', ack: REMOTE_ISS + 2 });
    expect(tw.state).toBe('TIME-WAIT');
  });

  it('without a listener TIME-WAIT stays and answers with an ACK, not a RST from a closed port', () => {
    const h = new TcpHarness();
    const { conn } = h.establishedActive();
    const peer = { srcPort: LOCAL_PORT, dstPort: 50000 };
    conn.close();
    h.expectSent({ flags: 'FIN,ACK' });
    h.send({ seq: h.peerNxt, ack: h.ourNxt + 1, flags: 'FIN,ACK', ...peer });
    h.expectSent({ flags: 'ACK', ack: h.peerNxt + 1 });
    expect(conn.state).toBe('TIME-WAIT');
    h.send({ seq: h.peerNxt + 100_000, ack: 0, flags: 'SYN', mss: 1460, ...peer });
    h.expectSent({ flags: 'ACK', seq: h.ourNxt + 1, ack: h.peerNxt + 1 });
    expect(conn.state).toBe('TIME-WAIT');
    expect(h.layer.stats().OutRsts).toBe(0);
  });
});

describe('resource bounds', () => {
  it('an orphan whose peer answers every zero-window probe with window 0 gives up after orphanRetries probes (Linux, RFC 6429)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 });
    conn.write(fill(1000));
    h.expectSent({ seq: h.ourNxt });
    h.ourNxt += 1000;
    h.send(h.seg({ window: 0 }));
    conn.write(fill(500));
    conn.close(); // FIN-WAIT-1 with 500 octets and the FIN waiting for the window
    expect(conn.state).toBe('FIN-WAIT-1');
    let probes = 0;
    for (let t = 0; t < 3600_000 && conn.state !== 'CLOSED'; t += 500) {
      h.advance(500);
      for (const s of h.drain()) {
        if (s.flags.includes('RST')) continue;
        probes++;
        h.send(h.seg({ window: 0 })); // answered: the peer is alive but never reads
      }
    }
    expect(conn.state).toBe('CLOSED');
    expect(probes).toBe(8);
    expect(h.layer.connections()).toHaveLength(0);
  });

  it('TIME-WAIT is bounded (Linux tcp_max_tw_buckets): beyond maxTimeWait the FIN is ACKed and the connection closes', () => {
    const h = new TcpHarness({ config: { maxTimeWait: 2 } });
    h.listen();
    const a = passiveTimeWait(h, 40001);
    const b = passiveTimeWait(h, 40002);
    const c = passiveTimeWait(h, 40003); // its FIN was still ACKed (checked in the helper)
    expect([a.state, b.state, c.state]).toEqual(['TIME-WAIT', 'TIME-WAIT', 'CLOSED']);
    expect(h.layer.stats().TCPTimeWaitOverflow).toBe(1);
    expect(h.layer.connections()).toHaveLength(2);
    // When one TIME-WAIT ends, the next connection may take its place.
    h.advance(60_000);
    expect(h.layer.connections()).toHaveLength(0);
    const d = passiveTimeWait(h, 40004);
    expect(d.state).toBe('TIME-WAIT');
    expect(h.layer.timeWaitCount).toBe(1);
  });

  it('the listen backlog is clamped to maxBacklog (Linux somaxconn): the SYN queue stays bounded', () => {
    const h = new TcpHarness({ config: { maxBacklog: 2, syncookies: 'off' } });
    const l = h.layer.listen(LOCAL, LOCAL_PORT, 1_000_000) as Listener;
    expect(l.backlog).toBe(2);
    for (let port = 41000; port < 41010; port++) h.send({ seq: 7, ack: 0, flags: 'SYN', srcPort: port });
    expect(h.drain()).toHaveLength(2);
    expect(l.synQueue.size).toBe(2);
    expect(h.layer.stats().ListenDrops).toBe(8);
    void REMOTE;
  });
});
