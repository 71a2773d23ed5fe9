import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { IpProto, type IcmpErrorInfo } from '../../src/ip/types.js';
import { UDP_HEADER_LEN, UdpView, emitUdp } from '../../src/udp/header.js';
import {
  EPHEMERAL_HIGH,
  EPHEMERAL_LOW,
  UDP_DATAGRAM_OVERHEAD,
  UdpLayer,
  type UdpSource,
} from '../../src/udp/udp.js';
import { FakeIp, rxInfo } from '../helpers/socket-fake-ip.js';

const ME = 0x0a4d0002; // 10.77.0.2
const PEER = 0x0a4d0001; // 10.77.0.1
const OTHER = 0x0a4d0003;

function setup() {
  const ip = new FakeIp(ME);
  const udp = new UdpLayer({ ip, clock: new ManualClock(), rng: new SeededRng(7) });
  return { ip, udp };
}

/** A datagram as it arrives from the wire, from src:sport to dst:dport. */
function wire(src: number, sport: number, dst: number, dport: number, data: string | Uint8Array): Uint8Array {
  const payload = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const buf = new Uint8Array(UDP_HEADER_LEN + payload.length);
  buf.set(payload, UDP_HEADER_LEN);
  emitUdp(buf, src, dst, sport, dport, payload.length);
  return buf;
}

function deliver(udp: UdpLayer, src: number, sport: number, dport: number, data: string | Uint8Array, dst = ME): boolean {
  return udp.receive(rxInfo(src, dst), wire(src, sport, dst, dport, data));
}

function recvString(s: ReturnType<UdpLayer['open']>, size = 1500, from?: UdpSource): string | undefined {
  const buf = new Uint8Array(size);
  const n = s.recv(buf, from);
  return n < 0 ? undefined : new TextDecoder().decode(buf.subarray(0, n));
}

function portUnreachable(src: number, sport: number, dst: number, dport: number): IcmpErrorInfo {
  return { type: 3, code: 3, errno: 'ECONNREFUSED', nextHopMtu: 0, src, dst, quoted: wire(src, sport, dst, dport, '').subarray(0, 8) };
}

describe('UdpLayer sending', () => {
  it('sendto builds a checksummed datagram from the bound port to the destination', () => {
    const { ip, udp } = setup();
    const s = udp.open();
    expect(s.bind(0, 9192)).toBeUndefined();
    expect(s.send(new TextEncoder().encode('hello'), PEER, 40000)).toBe(5);
    expect(ip.sent).toHaveLength(1);
    const d = ip.sent[0]!;
    expect(d.dst).toBe(PEER);
    expect(d.proto).toBe(IpProto.UDP);
    expect(d.opts?.dontFragment).toBeFalsy();
    const v = UdpView.parse(d.bytes, ME, PEER);
    if (typeof v === 'string') throw new Error(v);
    expect(v.srcPort).toBe(9192);
    expect(v.dstPort).toBe(40000);
    expect(v.checksum).not.toBe(0);
    expect(new TextDecoder().decode(v.payload)).toBe('hello');
    expect(udp.counters.OutDatagrams).toBe(1);
  });

  it('autobinds an ephemeral port on first send, in 32768..60999', () => {
    const { ip, udp } = setup();
    const s = udp.open();
    expect(s.send(new Uint8Array(3), PEER, 7)).toBe(3);
    expect(s.localPort).toBeGreaterThanOrEqual(EPHEMERAL_LOW);
    expect(s.localPort).toBeLessThanOrEqual(EPHEMERAL_HIGH);
    const v = UdpView.parse(ip.sent[0]!.bytes, ME, PEER);
    if (typeof v === 'string') throw new Error(v);
    expect(v.srcPort).toBe(s.localPort);
  });

  it('ephemeral ports never collide', () => {
    const { udp } = setup();
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const s = udp.open();
      expect(s.bind(0, 0)).toBeUndefined();
      expect(seen.has(s.localPort)).toBe(false);
      seen.add(s.localPort);
    }
    // An explicitly bound port inside the range is skipped too.
    const { udp: udp2 } = setup();
    const fixed = udp2.open();
    expect(fixed.bind(0, 40000)).toBeUndefined();
    for (let i = 0; i < EPHEMERAL_HIGH - EPHEMERAL_LOW; i++) {
      const s = udp2.open();
      expect(s.bind(0, 0)).toBeUndefined();
      expect(s.localPort).not.toBe(40000);
    }
    expect(udp2.open().bind(0, 0)).toBe('EAGAIN'); // range exhausted
  });

  it('EMSGSIZE beyond 65507 bytes; 65507 goes to IPv4 (which fragments)', () => {
    const { ip, udp } = setup();
    const s = udp.open();
    expect(s.send(new Uint8Array(65508), PEER, 7)).toBe('EMSGSIZE');
    expect(s.send(new Uint8Array(65507), PEER, 7)).toBe(65507);
    expect(ip.sent[0]!.bytes.length).toBe(65515);
  });

  it('send without a destination needs connect (EDESTADDRREQ); port 0 is EINVAL', () => {
    const { udp } = setup();
    const s = udp.open();
    expect(s.send(new Uint8Array(1))).toBe('EDESTADDRREQ');
    expect(s.send(new Uint8Array(1), PEER, 0)).toBe('EINVAL');
    expect(s.connect(PEER, 7)).toBeUndefined();
    expect(s.send(new Uint8Array(1))).toBe(1);
  });

  it('broadcast needs SO_BROADCAST (EACCES like Linux)', () => {
    const { udp } = setup();
    const s = udp.open();
    expect(s.send(new Uint8Array(1), 0xffffffff, 7)).toBe('EACCES');
    s.broadcast = true;
    expect(s.send(new Uint8Array(1), 0xffffffff, 7)).toBe(1);
  });

  it('IPv4 errors are returned and ENOBUFS is counted', () => {
    const { ip, udp } = setup();
    const s = udp.open();
    ip.failWith = 'ENETUNREACH';
    expect(s.send(new Uint8Array(1), PEER, 7)).toBe('ENETUNREACH');
    ip.failWith = 'ENOBUFS';
    expect(s.send(new Uint8Array(1), PEER, 7)).toBe('ENOBUFS');
    expect(udp.counters.SndbufErrors).toBe(1);
    expect(udp.counters.OutDatagrams).toBe(0);
  });
});

describe('UdpLayer binding', () => {
  it('EADDRINUSE on the same port unless both set SO_REUSEADDR', () => {
    const { udp } = setup();
    const a = udp.open();
    const b = udp.open();
    expect(a.bind(0, 5000)).toBeUndefined();
    expect(b.bind(0, 5000)).toBe('EADDRINUSE');
    expect(b.bind(ME, 5000)).toBe('EADDRINUSE'); // overlapping with the wildcard
    b.reuseAddr = true;
    expect(b.bind(0, 5000)).toBe('EADDRINUSE'); // a did not set it
    const c = udp.open();
    const d = udp.open();
    c.reuseAddr = true;
    d.reuseAddr = true;
    expect(c.bind(0, 5001)).toBeUndefined();
    expect(d.bind(0, 5001)).toBeUndefined();
    a.close();
    expect(b.bind(0, 5000)).toBeUndefined(); // released by close
  });

  it('binding twice is EINVAL; a foreign address is EADDRNOTAVAIL', () => {
    const { udp } = setup();
    const a = udp.open();
    expect(a.bind(OTHER, 5000)).toBe('EADDRNOTAVAIL');
    expect(a.bind(ME, 5000)).toBeUndefined();
    expect(a.bind(ME, 5001)).toBe('EINVAL');
    expect(udp.open().bind(0, 70000)).toBe('EINVAL');
  });
});

describe('UdpLayer receiving', () => {
  it('delivers datagrams with their boundaries and source', () => {
    const { udp } = setup();
    const s = udp.open();
    s.bind(0, 9192);
    let wakeups = 0;
    s.setHandler({ readable: () => wakeups++ });
    expect(deliver(udp, PEER, 40000, 9192, 'Hi!')).toBe(true);
    expect(deliver(udp, PEER, 40001, 9192, "I'm another UDP host!")).toBe(true);
    expect(deliver(udp, PEER, 40000, 9192, '')).toBe(true);
    expect(wakeups).toBe(3);
    expect(s.queuedDatagrams).toBe(3);
    const from = { addr: 0, port: 0 };
    expect(recvString(s, 1500, from)).toBe('Hi!');
    expect(from).toEqual({ addr: PEER, port: 40000 });
    // A short buffer truncates and the rest of that datagram is discarded.
    expect(s.nextLength).toBe(21);
    expect(recvString(s, 5, from)).toBe("I'm a");
    expect(from.port).toBe(40001);
    expect(recvString(s)).toBe(''); // empty datagram, not "nothing"
    expect(recvString(s)).toBeUndefined();
    expect(udp.counters.InDatagrams).toBe(3);
  });

  it('peek leaves the datagram queued', () => {
    const { udp } = setup();
    const s = udp.open();
    s.bind(0, 9192);
    deliver(udp, PEER, 40000, 9192, 'abc');
    const buf = new Uint8Array(10);
    expect(s.recv(buf, undefined, true)).toBe(3);
    expect(s.queuedDatagrams).toBe(1);
    expect(recvString(s)).toBe('abc');
  });

  it('no socket: returns false for ICMP port unreachable and counts NoPorts', () => {
    const { udp } = setup();
    expect(deliver(udp, PEER, 40000, 9999, 'x')).toBe(false);
    expect(udp.counters.NoPorts).toBe(1);
    expect(udp.counters.InDatagrams).toBe(0);
  });

  it('broadcast with no socket: ignored without ICMP; with sockets every one gets a copy', () => {
    const { udp } = setup();
    expect(deliver(udp, PEER, 40000, 9999, 'x', 0xffffffff)).toBe(true);
    expect(udp.counters.IgnoredMulti).toBe(1);
    const a = udp.open();
    const b = udp.open();
    a.reuseAddr = b.reuseAddr = true;
    a.bind(0, 9999);
    b.bind(0, 9999);
    deliver(udp, PEER, 40000, 9999, 'all', 0xffffffff);
    expect(recvString(a)).toBe('all');
    expect(recvString(b)).toBe('all');
  });

  it('bad checksum and bad length are dropped silently (InErrors, InCsumErrors), no ICMP', () => {
    const { udp } = setup();
    const s = udp.open();
    s.bind(0, 9192);
    const d = wire(PEER, 40000, ME, 9192, 'hello');
    d[9] = d[9]! ^ 0xff;
    expect(udp.receive(rxInfo(PEER, ME), d)).toBe(true);
    const short = wire(PEER, 40000, ME, 9192, 'hello');
    short[5] = 200;
    expect(udp.receive(rxInfo(PEER, ME), short)).toBe(true);
    expect(udp.receive(rxInfo(PEER, ME), new Uint8Array(4))).toBe(true);
    expect(udp.counters.InErrors).toBe(3);
    expect(udp.counters.InCsumErrors).toBe(1);
    expect(s.queuedDatagrams).toBe(0);
  });

  it('accepts a zero checksum (RFC 768: none computed)', () => {
    const { udp } = setup();
    const s = udp.open();
    s.bind(0, 9192);
    const d = wire(PEER, 40000, ME, 9192, 'nocsum');
    d[6] = 0;
    d[7] = 0;
    expect(udp.receive(rxInfo(PEER, ME), d)).toBe(true);
    expect(recvString(s)).toBe('nocsum');
  });

  it('the receive queue is bounded by SO_RCVBUF; overflow counts RcvbufErrors', () => {
    const { udp } = setup();
    const s = udp.open();
    s.bind(0, 9192);
    s.rcvbuf = 3 * (100 + UDP_DATAGRAM_OVERHEAD);
    for (let i = 0; i < 5; i++) deliver(udp, PEER, 40000, 9192, new Uint8Array(100).fill(i));
    expect(s.queuedDatagrams).toBe(3);
    expect(udp.counters.RcvbufErrors).toBe(2);
    expect(udp.counters.InErrors).toBe(2);
    expect(udp.counters.InDatagrams).toBe(3);
    const buf = new Uint8Array(200);
    expect(s.recv(buf)).toBe(100);
    expect(buf[0]).toBe(0);
    deliver(udp, PEER, 40000, 9192, new Uint8Array(100).fill(9)); // room again
    expect(s.queuedDatagrams).toBe(3);
    // A datagram larger than the whole buffer still enters an empty queue (Linux).
    const t = udp.open();
    t.bind(0, 9193);
    t.rcvbuf = 10;
    deliver(udp, PEER, 40000, 9193, new Uint8Array(1000));
    deliver(udp, PEER, 40000, 9193, new Uint8Array(1));
    expect(t.queuedDatagrams).toBe(1);
  });

  it('a connected socket only receives from its peer; it beats a wildcard socket', () => {
    const { udp } = setup();
    const wild = udp.open();
    const conn = udp.open();
    wild.reuseAddr = conn.reuseAddr = true;
    conn.bind(0, 6000);
    wild.bind(0, 6000); // bound later: would win a tie
    expect(conn.connect(PEER, 7)).toBeUndefined();
    deliver(udp, PEER, 7, 6000, 'from peer');
    deliver(udp, PEER, 8, 6000, 'other port');
    deliver(udp, OTHER, 7, 6000, 'other host');
    expect(recvString(conn)).toBe('from peer');
    expect(recvString(conn)).toBeUndefined();
    expect(recvString(wild)).toBe('other port');
    expect(recvString(wild)).toBe('other host');
  });

  it('a connected socket alone drops other sources with port unreachable', () => {
    const { udp } = setup();
    const s = udp.open();
    s.connect(PEER, 7);
    expect(deliver(udp, OTHER, 7, s.localPort, 'x')).toBe(false);
    expect(udp.counters.NoPorts).toBe(1);
    s.disconnect();
    expect(deliver(udp, OTHER, 7, s.localPort, 'x')).toBe(true);
  });

  it('a specific local address beats INADDR_ANY; ties go to the most recent bind', () => {
    const { udp } = setup();
    const spec = udp.open();
    const any1 = udp.open();
    const any2 = udp.open();
    spec.reuseAddr = any1.reuseAddr = any2.reuseAddr = true;
    spec.bind(ME, 7000);
    any1.bind(0, 7000);
    any2.bind(0, 7000);
    deliver(udp, PEER, 1, 7000, 'a');
    expect(recvString(spec)).toBe('a');
    spec.close();
    deliver(udp, PEER, 1, 7000, 'b');
    expect(recvString(any2)).toBe('b');
    expect(recvString(any1)).toBeUndefined();
  });

  it('a closed socket receives nothing and frees its port', () => {
    const { udp } = setup();
    const s = udp.open();
    s.bind(0, 9192);
    s.close();
    expect(deliver(udp, PEER, 1, 9192, 'x')).toBe(false);
    expect(udp.socketCount).toBe(0);
    expect(s.send(new Uint8Array(1), PEER, 7)).toBe('EBADF');
  });
});

describe('UdpLayer ICMP errors', () => {
  it('port unreachable becomes ECONNREFUSED on a connected socket, returned once by the next send', () => {
    const { udp } = setup();
    const s = udp.open();
    s.connect(PEER, 7);
    const errors: string[] = [];
    let wake = 0;
    s.setHandler({ readable: () => wake++, error: (e) => errors.push(e) });
    udp.receiveIcmpError(portUnreachable(ME, s.localPort, PEER, 7));
    expect(errors).toEqual(['ECONNREFUSED']);
    expect(wake).toBe(1);
    expect(s.hasError).toBe(true);
    expect(s.send(new Uint8Array(1))).toBe('ECONNREFUSED');
    expect(s.send(new Uint8Array(1))).toBe(1);
  });

  it('is ignored for unconnected sockets, other peers, and soft errors', () => {
    const { udp } = setup();
    const un = udp.open();
    un.bind(0, 5000);
    udp.receiveIcmpError(portUnreachable(ME, 5000, PEER, 7));
    expect(un.hasError).toBe(false);
    const c = udp.open();
    c.connect(PEER, 7);
    udp.receiveIcmpError(portUnreachable(ME, c.localPort, PEER, 8)); // other remote port
    udp.receiveIcmpError(portUnreachable(ME, c.localPort, OTHER, 7)); // other host
    udp.receiveIcmpError({ ...portUnreachable(ME, c.localPort, PEER, 7), code: 1, errno: 'EHOSTUNREACH' }); // soft
    udp.receiveIcmpError({ ...portUnreachable(ME, c.localPort, PEER, 7), type: 11, code: 0, errno: 'EHOSTUNREACH' });
    udp.receiveIcmpError({ ...portUnreachable(ME, c.localPort, PEER, 7), quoted: new Uint8Array(2) });
    expect(c.hasError).toBe(false);
  });

  it('address resolution failure sets EHOSTUNREACH on sockets connected to that host', () => {
    const { udp } = setup();
    const c = udp.open();
    c.connect(PEER, 7);
    const o = udp.open();
    o.connect(OTHER, 7);
    udp.unreachable(PEER, 'EHOSTUNREACH');
    expect(c.takeError()).toBe('EHOSTUNREACH');
    expect(c.takeError()).toBeUndefined();
    expect(o.hasError).toBe(false);
  });

  it('connect clears a stale pending error', () => {
    const { udp } = setup();
    const c = udp.open();
    c.connect(PEER, 7);
    udp.receiveIcmpError(portUnreachable(ME, c.localPort, PEER, 7));
    c.connect(PEER, 8);
    expect(c.hasError).toBe(false);
  });
});
