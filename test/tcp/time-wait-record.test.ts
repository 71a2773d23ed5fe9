/**
 * Compact TIME-WAIT records (tables.ts TimeWait; Linux inet_timewait_sock): a connection in
 * TIME-WAIT that its application closed is replaced in the connection and port tables by a
 * small record, revived into a Connection for any segment, and dropped after 2*MSL.
 *
 * Most tests "forget" the original Connection object (as if the application had dropped it
 * and the GC had collected it) by clearing its `detached` link: the layer then rebuilds a
 * Connection from the record alone, so these tests check that the record keeps everything
 * TIME-WAIT needs.
 */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/tcp/connection.js';
import { Segment, TcpFlag } from '../../src/tcp/header.js';
import { timeWaitAcceptsSyn } from '../../src/tcp/input.js';
import { seq } from '../../src/core/seq.js';
import { SeededRng } from '../../src/core/rng.js';
import type { TcpLayer } from '../../src/tcp/layer.js';
import { TimeWait, type ConnEntry } from '../../src/tcp/tables.js';
import { LOCAL, LOCAL_PORT, REMOTE, REMOTE_ISS, TcpHarness } from '../helpers/tcp-peer.js';

const MSL2 = 60_000;

function entry(layer: TcpLayer, localPort: number, remotePort: number): ConnEntry | undefined {
  const t = (layer as unknown as { conns: { get(a: number, b: number, c: number, d: number): ConnEntry | undefined } }).conns;
  return t.get(LOCAL, localPort, REMOTE, remotePort);
}

/** Passive connection (we close first, with timestamps) taken to TIME-WAIT; returns it. */
function serverTimeWait(h: TcpHarness): Connection {
  h.established({ mss: 1460, ts: [500, 0], sackPermitted: true, wscale: 7 });
  const conn = h.conn as Connection;
  conn.close();
  const fin = h.expectSent({ flags: 'FIN,ACK' });
  h.send(h.seg({ ack: h.ourNxt + 1, flags: 'FIN,ACK', ts: [510, fin.ts![0]] }));
  h.ourNxt += 1;
  h.peerNxt += 1;
  h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: h.peerNxt });
  expect(conn.state).toBe('TIME-WAIT');
  return conn;
}

/** As if the application had dropped the object and the GC collected it. */
function forget(h: TcpHarness, conn: Connection): TimeWait {
  const tw = entry(h.layer, LOCAL_PORT, conn.remotePort);
  expect(tw).toBeInstanceOf(TimeWait);
  expect(conn.detached).toBe(tw);
  conn.detached = undefined;
  h.conn = undefined;
  return tw as TimeWait;
}

describe('compact TIME-WAIT record', () => {
  it('replaces an orphaned TIME-WAIT connection in the tables, not one the application still uses', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    expect(entry(h.layer, LOCAL_PORT, conn.remotePort)).toBeInstanceOf(TimeWait);
    expect(h.layer.diagnostics()).toMatchObject({ connections: 1, timeWait: 1, portHolders: 2 });
    expect(h.layer.connections()).toEqual([conn]); // the object is still held: it is shown

    // Not closed by the application (peer closed first, then we shut down writing only): kept whole.
    const h2 = new TcpHarness();
    const { conn: c2 } = h2.established();
    c2.shutdown('wr');
    h2.expectSent({ flags: 'FIN,ACK' });
    h2.send(h2.seg({ ack: h2.ourNxt + 1, flags: 'FIN,ACK' }));
    expect(c2.state).toBe('TIME-WAIT');
    expect(entry(h2.layer, LOCAL_PORT, c2.remotePort)).toBe(c2);
    c2.close(); // now it is orphaned: compacted at once (not inside a receive batch)
    expect(entry(h2.layer, LOCAL_PORT, c2.remotePort)).toBeInstanceOf(TimeWait);
  });

  it('keeps every field TIME-WAIT processing reads (rebuilt Connection equals the original)', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    const tw = entry(h.layer, LOCAL_PORT, conn.remotePort) as TimeWait;
    const back = tw.toConnection(h.layer, { localAddr: LOCAL, localPort: LOCAL_PORT, remoteAddr: REMOTE, remotePort: conn.remotePort, opts: { recvBufferSize: tw.rcvCapacity }, passive: tw.passive });
    const fields = [
      'state', 'iss', 'irs', 'sndUna', 'sndNxt', 'sndMax', 'sndWnd', 'sndWl1', 'sndWl2', 'maxSndWnd', 'sndWscale',
      'rcvNxt', 'rcvAdv', 'rcvWscale', 'lastAckSent', 'wsOk', 'sackOk', 'tsOk', 'tsRecent', 'tsRecentAge', 'advMss',
      'peerMss', 'mssClamp', 'mss', 'rcvCapacity', 'finSent', 'finAcked', 'finReceived', 'orphan', 'passive',
    ] as const;
    for (const f of fields) expect([f, back[f]]).toEqual([f, conn[f]]);
    expect(back.dataEnd()).toBe(conn.dataEnd());
  });

  it('a retransmitted FIN (record only) is ACKed like before and restarts 2*MSL; then everything is gone', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    const port = conn.remotePort;
    forget(h, conn);
    h.advance(30_000);
    h.send(h.seg({ seq: h.peerNxt - 1, flags: 'FIN,ACK', ts: [520, 0] }));
    const ack = h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: h.peerNxt });
    expect(ack.ts![1]).toBe(510); // TS.Recent kept by the record (an old FIN does not update it)
    expect(entry(h.layer, LOCAL_PORT, port)).toBeInstanceOf(TimeWait); // compacted again
    h.advance(MSL2 - 1);
    expect(h.layer.diagnostics()).toMatchObject({ connections: 1, timeWait: 1 });
    h.advance(1);
    expect(h.layer.diagnostics()).toMatchObject({ connections: 0, timeWait: 0, portHolders: 1 });
    expect(h.layer.connections()).toEqual([]);
    expect(conn.state).toBe('TIME-WAIT'); // the forgotten object was left alone
  });

  it('PAWS and an old duplicate: the record answers with an ACK and stays', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    forget(h, conn);
    h.send(h.seg({ payload: 'x', ts: [505, 0] })); // older TSval: PAWS
    h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: h.peerNxt });
    h.send(h.seg({ seq: h.peerNxt - 100, payload: 'y'.repeat(10), ts: [530, 0] })); // old data
    h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: h.peerNxt });
    expect(h.layer.stats().PAWSEstab).toBe(1);
    expect(entry(h.layer, LOCAL_PORT, conn.remotePort)).toBeInstanceOf(TimeWait);
  });

  it('a new SYN with a higher sequence number reopens it (RFC 9293 MAY-2) with ISS above the old SND.NXT', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    const oldNxt = h.ourNxt;
    forget(h, conn);
    h.send({ seq: REMOTE_ISS + 300_000, ack: 0, flags: 'SYN', mss: 1460, srcPort: conn.remotePort, ts: [600, 0] });
    const sa = h.expectSent({ flags: 'SYN,ACK', ack: REMOTE_ISS + 300_001 });
    expect(sa.seq).toBe((oldNxt + 65537) >>> 0);
    const e = entry(h.layer, LOCAL_PORT, conn.remotePort) as Connection;
    expect(e.state).toBe('SYN-RECEIVED');
    expect(h.layer.diagnostics().timeWait).toBe(0);
  });

  it('a reopening SYN gets state even with the SYN queue full (Linux tcp_conn_request "&& !isn")', () => {
    const h = new TcpHarness({ config: { syncookies: 'off' } });
    const conn = serverTimeWait(h);
    forget(h, conn);
    // Fill the listener's SYN queue (backlog 8) with half-open connections from other ports.
    for (let i = 0; i < 8; i++) {
      h.send({ seq: 1000 + i, ack: 0, flags: 'SYN', mss: 1460, srcPort: 41000 + i });
      h.expectSent({ flags: 'SYN,ACK', ack: 1001 + i });
    }
    // A new SYN is now dropped...
    h.send({ seq: 5000, ack: 0, flags: 'SYN', mss: 1460, srcPort: 42000 });
    expect(h.ip.sent.length).toBe(0);
    // ...but the one that reopens the TIME-WAIT connection is answered.
    h.send({ seq: REMOTE_ISS + 300_000, ack: 0, flags: 'SYN', mss: 1460, srcPort: conn.remotePort, ts: [600, 0] });
    h.expectSent({ flags: 'SYN,ACK', ack: REMOTE_ISS + 300_001 });
    expect((entry(h.layer, LOCAL_PORT, conn.remotePort) as Connection).state).toBe('SYN-RECEIVED');
  });

  it('a RST at RCV.NXT ends it at once (RFC 9293: "enter the CLOSED state, delete the TCB")', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    forget(h, conn);
    h.send(h.seg({ flags: 'RST' }));
    h.expectNothing();
    expect(h.layer.diagnostics()).toMatchObject({ connections: 0, timeWait: 0, portHolders: 1 });
  });

  it('holds its local port: bind without SO_REUSEADDR fails, with it succeeds (active close)', () => {
    const h = new TcpHarness();
    const { conn } = h.establishedActive();
    const peer = { srcPort: LOCAL_PORT, dstPort: 50000 };
    conn.close();
    h.expectSent({ flags: 'FIN,ACK' });
    h.send({ seq: h.peerNxt, ack: h.ourNxt + 1, flags: 'FIN,ACK', ...peer });
    h.expectSent({ flags: 'ACK' });
    const tw = entry(h.layer, 50000, LOCAL_PORT);
    expect(tw).toBeInstanceOf(TimeWait);
    (conn as Connection).detached = undefined;
    expect(h.layer.bind(LOCAL, 50000, false)).toBe('EADDRINUSE');
    expect(h.layer.bind(LOCAL, 50000, true)).toEqual({ port: 50000 });
    // The 4-tuple itself stays taken until TIME-WAIT ends.
    expect(h.layer.connect(LOCAL, 50000, REMOTE, LOCAL_PORT, h.rec)).toBe('EADDRNOTAVAIL');
    h.advance(MSL2);
    expect(h.layer.diagnostics()).toMatchObject({ connections: 0, timeWait: 0 });
  });

  it('the object still held by the application: abort() ends the record too; counts stay right', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    h.rec.take();
    conn.abort();
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['closed']);
    expect(h.layer.diagnostics()).toMatchObject({ connections: 0, timeWait: 0, portHolders: 1 });
    h.advance(MSL2);
    expect(h.layer.diagnostics()).toMatchObject({ connections: 0, timeWait: 0 });
    h.expectNothing();
  });

  it('a new SYN while the application still holds the object: it reaches CLOSED, the new connection opens', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    const oldNxt = h.ourNxt;
    h.rec.take();
    h.send({ seq: REMOTE_ISS + 300_000, ack: 0, flags: 'SYN', mss: 1460, srcPort: conn.remotePort, ts: [600, 0] });
    const sa = h.expectSent({ flags: 'SYN,ACK', ack: REMOTE_ISS + 300_001 });
    expect(sa.seq).toBe((oldNxt + 65537) >>> 0);
    expect(conn.state).toBe('CLOSED');
    expect(conn.detached).toBeUndefined();
    expect(h.rec.take()).toEqual(['closed']);
    const e = entry(h.layer, LOCAL_PORT, conn.remotePort) as Connection;
    expect(e).not.toBe(conn);
    expect(e.state).toBe('SYN-RECEIVED');
    // The listener's reservation and the new half-open connection hold the port; nothing else.
    expect(h.layer.diagnostics()).toMatchObject({ connections: 1, timeWait: 0, portHolders: 2 });
  });

  it('the record decides a SYN exactly as a Connection in TIME-WAIT does (timeWaitAcceptsSyn)', () => {
    const h = new TcpHarness();
    const conn = serverTimeWait(h);
    const rng = new SeededRng(11);
    const seg = new Segment();
    const flagSets = [TcpFlag.SYN, TcpFlag.SYN | TcpFlag.ACK, TcpFlag.SYN | TcpFlag.RST, TcpFlag.ACK, TcpFlag.SYN | TcpFlag.FIN];
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      conn.rcvNxt = seq(rng.nextU32());
      conn.tsRecent = rng.nextU32();
      conn.tsOk = (i & 1) === 0;
      const tw = new TimeWait(conn, undefined, 0);
      // Near the edges (wrap-around included) as well as anywhere.
      const near = (x: number): number => (i % 3 === 0 ? rng.nextU32() : (x + (rng.nextU32() % 5) - 2) >>> 0);
      seg.flags = flagSets[i % flagSets.length]!;
      seg.seq = seq(near(conn.rcvNxt));
      seg.hasTimestamp = (i & 2) === 0;
      seg.tsVal = near(conn.tsRecent);
      const want = timeWaitAcceptsSyn(conn, seg);
      expect(tw.acceptsSyn(seg), `case ${i}`).toBe(want);
      if (want) accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('layer close() drops records and keeps the counts right', () => {
    const h = new TcpHarness();
    forget(h, serverTimeWait(h));
    h.layer.close();
    expect(h.layer.diagnostics()).toMatchObject({ connections: 0, timeWait: 0, listeners: 0, portHolders: 0 });
  });
});
