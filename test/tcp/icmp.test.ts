/**
 * ICMP errors (RFC 9293 3.9.2.2 / RFC 1122 4.2.3.9): hard errors in SYN-SENT, soft errors
 * reported on timeout (MUST-56: no abort on net/host unreachable, time exceeded, parameter
 * problem), PMTU discovery (RFC 1191), quoted-sequence validation (RFC 5927).
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_PORT, REMOTE_ISS, TcpHarness, type Seg } from '../helpers/tcp-peer.js';

function quote(s: Seg): Uint8Array {
  return s.bytes.slice(0, 8);
}

describe('ICMP destination unreachable', () => {
  it('port unreachable in SYN-SENT fails connect with ECONNREFUSED (Linux)', () => {
    const h = new TcpHarness();
    const { conn, syn } = h.connect();
    h.icmp({ type: 3, code: 3, errno: 'ECONNREFUSED', quoted: quote(syn) });
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ECONNREFUSED', 'closed']);
  });

  it('host unreachable in SYN-SENT fails connect at once with EHOSTUNREACH (Linux tcp_v4_err aborts SYN-SENT)', () => {
    const h = new TcpHarness({ config: { synRetries: 2 } });
    const { conn, syn } = h.connect();
    h.icmp({ type: 3, code: 1, errno: 'EHOSTUNREACH', quoted: quote(syn) });
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:EHOSTUNREACH', 'closed']);
    h.advance(1000 + 2000 + 4000);
    h.expectNothing();
  });

  it('host unreachable in SYN-RECEIVED is soft: the SYN-ACK keeps being retried', () => {
    const h = new TcpHarness({ config: { synRetries: 2 } });
    const { conn, syn } = h.connect();
    // Simultaneous open: the peer's SYN moves us to SYN-RECEIVED (our SYN is still in flight).
    h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('SYN-RECEIVED');
    h.expectSent({ flags: 'SYN,ACK' });
    h.icmp({ type: 3, code: 1, errno: 'EHOSTUNREACH', quoted: quote(syn) });
    expect(conn.state).toBe('SYN-RECEIVED');
  });

  it('net unreachable in ESTABLISHED does not abort (MUST-56); a later timeout reports it', () => {
    const h = new TcpHarness({ config: { retries2: 2 } });
    const { conn } = h.established();
    conn.write(new Uint8Array(10));
    const d = h.expectSent();
    h.icmp({ type: 3, code: 0, errno: 'ENETUNREACH', quoted: quote(d) });
    expect(conn.state).toBe('ESTABLISHED');
    h.advance(1000 + 2000 + 4000);
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ENETUNREACH', 'closed']);
  });

  it('the soft error is forgotten when data is acknowledged again', () => {
    const h = new TcpHarness({ config: { retries2: 1 } });
    const { conn } = h.established();
    conn.write(new Uint8Array(10));
    const d = h.expectSent();
    h.icmp({ type: 11, code: 0, errno: 'EHOSTUNREACH', quoted: quote(d) });
    h.send(h.seg({ ack: h.ourNxt + 10 }));
    conn.write(new Uint8Array(10));
    h.drain();
    h.advance(1000 + 2000);
    expect(h.rec.take()).toEqual(['error:ETIMEDOUT', 'closed']);
  });

  it('an ICMP error quoting a sequence number not in flight is ignored (RFC 5927, OutOfWindowIcmps)', () => {
    const h = new TcpHarness();
    const { conn, syn } = h.connect();
    const q = quote(syn);
    q[7]! ^= 0x55;
    h.icmp({ type: 3, code: 3, errno: 'ECONNREFUSED', quoted: q });
    expect(conn.state).toBe('SYN-SENT');
    expect(h.layer.stats().OutOfWindowIcmps).toBe(1);
  });

  it('ARP failure (unreachable()) fails a connection attempt at once (Linux: connect() to a dead on-link host gives EHOSTUNREACH in ~3 s)', () => {
    const h = new TcpHarness({ config: { synRetries: 6 } });
    const { conn } = h.connect();
    h.layer.unreachable(0x0a4d0002, 'EHOSTUNREACH');
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:EHOSTUNREACH', 'closed']);
  });

  it('ARP failure for an established connection is a soft error, reported when it times out', () => {
    const h = new TcpHarness({ config: { retries2: 1 } });
    const { conn } = h.established();
    conn.write(new Uint8Array(10));
    h.expectSent();
    h.layer.unreachable(0x0a4d0002, 'EHOSTUNREACH');
    expect(conn.state).toBe('ESTABLISHED');
    h.advance(1000 + 2000);
    expect(h.rec.take()).toEqual(['error:EHOSTUNREACH', 'closed']);
  });
});

describe('PMTU discovery (RFC 1191)', () => {
  it('fragmentation needed lowers the MSS and resends the data in smaller segments', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460 });
    conn.write(new Uint8Array(2920).fill(7));
    const segs = h.drain();
    expect(segs.map((s) => s.payload.length)).toEqual([1460, 1460]);
    expect(segs.every((s) => s.df)).toBe(true);
    h.icmp({ type: 3, code: 4, errno: 'EMSGSIZE', nextHopMtu: 1000, quoted: quote(segs[0]!) });
    expect(conn.info().mss).toBe(960);
    const again = h.drain();
    expect(again.map((s) => [s.seq - h.ourNxt, s.payload.length])).toEqual([
      [0, 960],
      [960, 960],
      [1920, 960],
      [2880, 40],
    ]);
    expect(conn.info().cwnd).toBeGreaterThanOrEqual(4 * 960); // not treated as congestion
    void LOCAL_PORT;
  });
});

describe('other ICMP errors', () => {
  it('source quench is silently discarded (MUST-55); parameter problem is soft (MUST-56)', () => {
    const h = new TcpHarness({ config: { retries2: 1 } });
    const { conn } = h.established();
    conn.write(new Uint8Array(10));
    const d = h.expectSent();
    h.icmp({ type: 4, code: 0, errno: 'EHOSTUNREACH', quoted: quote(d) });
    h.icmp({ type: 12, code: 0, errno: 'EHOSTUNREACH', quoted: quote(d) });
    expect(conn.state).toBe('ESTABLISHED');
    h.advance(1000 + 2000);
    expect(h.rec.take()).toEqual(['error:EHOSTUNREACH', 'closed']);
  });
});
