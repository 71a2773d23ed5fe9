import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { ARP_LEN, ArpCache, ArpOp, ArpPacket, emitArp, type ArpHost, type ArpOptions } from '../../src/link/arp.js';
import { EthernetFrame, ParseError } from '../../src/link/ethernet.js';
import { formatMac } from '../../src/link/mac.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

const MAC_US = hex('020000000001');
const MAC_PEER = hex('020000000002');
const MAC_OTHER = hex('020000000003');
const IP_US = 0x0a4d0001; // 10.77.0.1
const IP_PEER = 0x0a4d0002; // 10.77.0.2
const IP_OTHER = 0x0a4d0003; // 10.77.0.3

// who-has 10.77.0.2 tell 10.77.0.1 (02:00:00:00:00:01), as an Ethernet frame
const GOLDEN_REQUEST = hex(
  'ffffffffffff 020000000001 0806' + // Ethernet: broadcast, from us, ARP
    '0001 0800 06 04 0001' + // htype 1, ptype IPv4, hlen 6, plen 4, op request
    '020000000001 0a4d0001' + // sender
    '000000000000 0a4d0002', // target
);
// 10.77.0.2 is-at 02:00:00:00:00:02, to 10.77.0.1
const GOLDEN_REPLY_PAYLOAD = hex('0001 0800 06 04 0002 020000000002 0a4d0002 020000000001 0a4d0001');

interface Sent {
  t: number;
  frame: Uint8Array;
}

class FakeHost implements ArpHost {
  arps: Sent[] = [];
  queued: { t: number; ip: number; mac: string; data: number[] }[] = [];
  failed: { t: number; ip: number; data: number[] }[] = [];
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  transmitArp(frame: Uint8Array): void {
    this.arps.push({ t: this.clock.now(), frame: frame.slice() });
  }
  transmitQueued(ip: number, mac: Uint8Array, d: Uint8Array): void {
    this.queued.push({ t: this.clock.now(), ip, mac: formatMac(mac), data: [...d] });
  }
  resolutionFailed(ip: number, d: Uint8Array): void {
    this.failed.push({ t: this.clock.now(), ip, data: [...d] });
  }
  /** The ARP packets sent, parsed. */
  parsed(): { t: number; ethDst: string; p: ArpPacket }[] {
    return this.arps.map(({ t, frame }) => {
      const eth = EthernetFrame.parse(frame) as EthernetFrame;
      const p = ArpPacket.parse(eth.payload);
      if (p instanceof ParseError) throw new Error(p.reason);
      return { t, ethDst: formatMac(eth.dst), p };
    });
  }
}

function setup(opts: ArpOptions = {}) {
  const clock = new ManualClock(0);
  const host = new FakeHost(clock);
  const arp = new ArpCache(host, clock, MAC_US, opts);
  arp.localIp = IP_US;
  return { clock, host, arp };
}

function arpPayload(op: number, sha: Uint8Array, spa: number, tha: Uint8Array | undefined, tpa: number): Uint8Array {
  const b = new Uint8Array(ARP_LEN);
  emitArp(b, 0, op, sha, spa, tha, tpa);
  return b;
}

const replyFromPeer = () => arpPayload(ArpOp.REPLY, MAC_PEER, IP_PEER, MAC_US, IP_US);

describe('ArpPacket view', () => {
  it('emits the golden request and parses it back', () => {
    const { host, arp } = setup();
    arp.enqueue(IP_PEER, new Uint8Array([1]));
    expect(host.arps[0]!.frame).toEqual(GOLDEN_REQUEST);
    const p = ArpPacket.parse(GOLDEN_REQUEST.subarray(14)) as ArpPacket;
    expect(p.op).toBe(ArpOp.REQUEST);
    expect(formatMac(p.senderMac)).toBe('02:00:00:00:00:01');
    expect(p.senderIp).toBe(IP_US);
    expect(formatMac(p.targetMac)).toBe('00:00:00:00:00:00');
    expect(p.targetIp).toBe(IP_PEER);
    expect(p.toString()).toBe('ARP who-has 10.77.0.2 tell 10.77.0.1 (02:00:00:00:00:01)');
  });

  it('emitArp produces the golden reply', () => {
    expect(arpPayload(ArpOp.REPLY, MAC_PEER, IP_PEER, MAC_US, IP_US)).toEqual(GOLDEN_REPLY_PAYLOAD);
  });

  it('accepts trailing padding and ignores it', () => {
    const padded = new Uint8Array(46);
    padded.set(GOLDEN_REPLY_PAYLOAD);
    const p = ArpPacket.parse(padded) as ArpPacket;
    expect(p.bytes.length).toBe(28);
    expect(p.senderIp).toBe(IP_PEER);
  });

  it.each([
    ['short', (b: Uint8Array) => b.subarray(0, 27), /27 bytes/],
    ['htype', (b: Uint8Array) => ((b[1] = 6), b), /hardware type 6/],
    ['ptype', (b: Uint8Array) => ((b[2] = 0x86), (b[3] = 0xdd), b), /protocol type 0x86dd/],
    ['hlen', (b: Uint8Array) => ((b[4] = 8), b), /hardware length 8/],
    ['plen', (b: Uint8Array) => ((b[5] = 16), b), /protocol length 16/],
    ['op', (b: Uint8Array) => ((b[7] = 3), b), /opcode 3/],
  ])('refuses bad %s', (_name, mutate, msg) => {
    const r = ArpPacket.parse(mutate(GOLDEN_REPLY_PAYLOAD.slice()));
    expect(r).toBeInstanceOf(ParseError);
    expect((r as ParseError).reason).toMatch(msg);
  });
});

describe('ArpCache resolution', () => {
  it('queues while resolving, then sends the queued datagrams in order on the reply', () => {
    const { clock, host, arp } = setup();
    expect(arp.lookup(IP_PEER)).toBeUndefined();
    expect(arp.enqueue(IP_PEER, new Uint8Array([1]))).toBeUndefined();
    expect(arp.enqueue(IP_PEER, new Uint8Array([2]))).toBeUndefined();
    expect(host.arps.length).toBe(1); // one request, not one per datagram
    expect(arp.state(IP_PEER)).toBe('incomplete');
    clock.advance(300);
    arp.input(replyFromPeer());
    expect(host.queued).toEqual([
      { t: 300, ip: IP_PEER, mac: '02:00:00:00:00:02', data: [1] },
      { t: 300, ip: IP_PEER, mac: '02:00:00:00:00:02', data: [2] },
    ]);
    expect(formatMac(arp.lookup(IP_PEER)!)).toBe('02:00:00:00:00:02');
    expect(arp.state(IP_PEER)).toBe('reachable');
    expect(arp.queued).toBe(0);
    expect(arp.counters).toMatchObject({ requestsSent: 1, repliesReceived: 1, queueDrops: 0 });
  });

  it('queues a copy, not the caller buffer', () => {
    const { host, arp } = setup();
    const buf = new Uint8Array([7, 7]);
    arp.enqueue(IP_PEER, buf);
    buf[0] = 9;
    arp.input(replyFromPeer());
    expect(host.queued[0]!.data).toEqual([7, 7]);
  });

  it('overflowing a neighbour queue drops the OLDEST and counts it', () => {
    const { host, arp } = setup({ queuePerNeighbour: 3 });
    for (let i = 1; i <= 5; i++) arp.enqueue(IP_PEER, new Uint8Array([i]));
    expect(arp.counters.queueDrops).toBe(2);
    expect(arp.queued).toBe(3);
    arp.input(replyFromPeer());
    expect(host.queued.map((q) => q.data[0])).toEqual([3, 4, 5]);
  });

  it('the global bound drops the oldest datagram over all neighbours', () => {
    const { host, arp } = setup({ queuePerNeighbour: 3, queueTotal: 4 });
    arp.enqueue(IP_PEER, new Uint8Array([1])); // oldest overall
    arp.enqueue(IP_OTHER, new Uint8Array([2]));
    arp.enqueue(IP_PEER, new Uint8Array([3]));
    arp.enqueue(IP_OTHER, new Uint8Array([4]));
    arp.enqueue(IP_OTHER, new Uint8Array([5])); // total 5 > 4: drop [1] from PEER
    expect(arp.counters.queueDrops).toBe(1);
    expect(arp.queued).toBe(4);
    arp.input(replyFromPeer());
    expect(host.queued.map((q) => q.data[0])).toEqual([3]);
  });

  it('retries 3 times 1 s apart, then fails every queued datagram with EHOSTUNREACH at 3 s', () => {
    const { clock, host, arp } = setup();
    arp.enqueue(IP_PEER, new Uint8Array([1]));
    clock.advance(500);
    arp.enqueue(IP_PEER, new Uint8Array([2]));
    clock.advance(10_000);
    expect(host.parsed().map(({ t, ethDst, p }) => [t, ethDst, p.op, p.targetIp])).toEqual([
      [0, 'ff:ff:ff:ff:ff:ff', 1, IP_PEER],
      [1000, 'ff:ff:ff:ff:ff:ff', 1, IP_PEER],
      [2000, 'ff:ff:ff:ff:ff:ff', 1, IP_PEER],
    ]);
    expect(host.failed).toEqual([
      { t: 3000, ip: IP_PEER, data: [1] },
      { t: 3000, ip: IP_PEER, data: [2] },
    ]);
    expect(arp.counters).toMatchObject({ requestsSent: 3, resolutionFailures: 1, queuedFailed: 2 });
  });

  it('holds a failed entry down (EHOSTUNREACH at once), then resolves afresh', () => {
    const { clock, host, arp } = setup({ failedHoldMs: 2000 });
    arp.enqueue(IP_PEER, new Uint8Array([1]));
    clock.advanceTo(3000);
    expect(arp.state(IP_PEER)).toBe('failed');
    clock.advanceTo(4999);
    expect(arp.enqueue(IP_PEER, new Uint8Array([2]))).toBe('EHOSTUNREACH');
    expect(arp.counters.unreachableDrops).toBe(1);
    expect(host.arps.length).toBe(3);
    clock.advanceTo(5000);
    expect(arp.state(IP_PEER)).toBeUndefined();
    expect(arp.enqueue(IP_PEER, new Uint8Array([3]))).toBeUndefined();
    expect(host.arps.length).toBe(4);
    expect(host.arps[3]!.t).toBe(5000);
  });

  it('a late reply to a failed entry makes it usable again', () => {
    const { clock, arp } = setup();
    arp.enqueue(IP_PEER, new Uint8Array([1]));
    clock.advanceTo(3100);
    arp.input(replyFromPeer());
    expect(arp.state(IP_PEER)).toBe('reachable');
  });
});

describe('ArpCache aging', () => {
  function resolved(opts: ArpOptions = {}) {
    const s = setup(opts);
    s.arp.enqueue(IP_PEER, new Uint8Array([1]));
    s.arp.input(replyFromPeer());
    s.host.arps.length = 0;
    return s;
  }

  it('reachable for 30 s, then stale; a stale entry is used and polled by unicast; the reply refreshes it', () => {
    const { clock, host, arp } = resolved();
    clock.advanceTo(29_999);
    expect(arp.state(IP_PEER)).toBe('reachable');
    clock.advanceTo(30_000);
    expect(arp.state(IP_PEER)).toBe('stale');
    expect(host.arps.length).toBe(0); // no traffic while unused
    clock.advanceTo(31_000);
    expect(formatMac(arp.lookup(IP_PEER)!)).toBe('02:00:00:00:00:02'); // still used
    arp.lookup(IP_PEER); // a second use does not poll again
    const polls = host.parsed();
    expect(polls.map(({ t, ethDst, p }) => [t, ethDst, p.targetIp])).toEqual([[31_000, '02:00:00:00:00:02', IP_PEER]]);
    clock.advance(5);
    arp.input(replyFromPeer());
    expect(arp.state(IP_PEER)).toBe('reachable');
    clock.advanceTo(31_005 + 29_999);
    expect(arp.state(IP_PEER)).toBe('reachable');
    expect(host.arps.length).toBe(1);
  });

  it('a stale neighbour that ignores 3 unicast polls is removed', () => {
    const { clock, host, arp } = resolved();
    clock.advanceTo(40_000);
    arp.lookup(IP_PEER);
    clock.advanceTo(50_000);
    expect(host.parsed().map(({ t, ethDst }) => [t, ethDst])).toEqual([
      [40_000, '02:00:00:00:00:02'],
      [41_000, '02:00:00:00:00:02'],
      [42_000, '02:00:00:00:00:02'],
    ]);
    expect(arp.state(IP_PEER)).toBeUndefined();
    expect(arp.counters).toMatchObject({ refreshFailures: 1, probesSent: 3 });
  });

  it('an unused stale entry is garbage-collected after staleMs', () => {
    const { clock, arp } = resolved({ reachableMs: 1000, staleMs: 5000 });
    clock.advanceTo(1000);
    expect(arp.state(IP_PEER)).toBe('stale');
    clock.advanceTo(5999);
    expect(arp.state(IP_PEER)).toBe('stale');
    clock.advanceTo(6000);
    expect(arp.size).toBe(0);
  });

  it('uses ONE timer for the whole cache, armed at the earliest deadline', () => {
    const { clock, arp } = setup();
    for (let i = 0; i < 50; i++) {
      clock.advance(7);
      arp.enqueue(0x0a4d0100 + i, new Uint8Array([i]));
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect((clock as any).heap.live).toBe(1);
    expect(clock.nextDeadline()).toBe(7 + 1000);
  });
});

describe('ArpCache input (RFC 826 merge)', () => {
  it('answers a request for our address with a unicast reply, and learns the requester', () => {
    const { host, arp } = setup();
    arp.input(arpPayload(ArpOp.REQUEST, MAC_PEER, IP_PEER, undefined, IP_US));
    expect(host.arps.length).toBe(1);
    // Golden reply: to the requester, 10.77.0.1 is-at 02:00:00:00:00:01
    expect(host.arps[0]!.frame).toEqual(
      hex('020000000002 020000000001 0806 0001 0800 06 04 0002 020000000001 0a4d0001 020000000002 0a4d0002'),
    );
    expect(arp.state(IP_PEER)).toBe('reachable');
    expect(arp.counters).toMatchObject({ requestsReceived: 1, repliesSent: 1 });
  });

  it('does not create entries from packets not targeting us, but updates existing ones', () => {
    const { host, arp } = setup();
    arp.input(arpPayload(ArpOp.REQUEST, MAC_OTHER, IP_OTHER, undefined, IP_PEER));
    expect(arp.size).toBe(0);
    expect(host.arps.length).toBe(0); // not for us: no reply

    arp.input(arpPayload(ArpOp.REQUEST, MAC_PEER, IP_PEER, undefined, IP_US));
    // PEER moves to a new MAC, seen in a broadcast for someone else: taken, but stale (to be verified)
    arp.input(arpPayload(ArpOp.REQUEST, MAC_OTHER, IP_PEER, undefined, IP_OTHER));
    expect(formatMac(arp.lookup(IP_PEER)!)).toBe('02:00:00:00:00:03');
    expect(arp.counters.probesSent).toBe(1);
  });

  it('a gratuitous ARP resolves a pending entry and releases its queue', () => {
    const { host, arp } = setup();
    arp.enqueue(IP_PEER, new Uint8Array([42]));
    arp.input(arpPayload(ArpOp.REQUEST, MAC_PEER, IP_PEER, undefined, IP_PEER));
    expect(host.queued.map((q) => [q.mac, q.data])).toEqual([['02:00:00:00:00:02', [42]]]);
  });

  it('answers RFC 5227 probes (sender 0.0.0.0) without learning', () => {
    const { host, arp } = setup();
    arp.input(arpPayload(ArpOp.REQUEST, MAC_PEER, 0, undefined, IP_US));
    expect(arp.size).toBe(0);
    const [r] = host.parsed();
    expect(r!.p.op).toBe(ArpOp.REPLY);
    expect(r!.p.targetIp).toBe(0);
    expect(r!.ethDst).toBe('02:00:00:00:00:02');
  });

  it('counts a conflict when someone else claims our address, and never learns it', () => {
    const { arp } = setup();
    arp.input(arpPayload(ArpOp.REPLY, MAC_PEER, IP_US, undefined, IP_US));
    expect(arp.counters.conflicts).toBe(1);
    expect(arp.size).toBe(0);
  });

  it('counts and drops malformed packets without throwing', () => {
    const { host, arp } = setup();
    const badHlen = arpPayload(ArpOp.REQUEST, MAC_PEER, IP_PEER, undefined, IP_US);
    badHlen[4] = 7;
    const multicastSender = arpPayload(ArpOp.REQUEST, hex('01005e000001'), IP_PEER, undefined, IP_US);
    for (const p of [new Uint8Array(0), new Uint8Array(10), badHlen, multicastSender]) {
      expect(() => arp.input(p)).not.toThrow();
    }
    expect(arp.counters.badPackets).toBe(4);
    // A refused packet is not also counted as a request or reply received.
    expect(arp.counters.requestsReceived + arp.counters.repliesReceived).toBe(0);
    expect(arp.size).toBe(0);
    expect(host.arps.length).toBe(0);
  });

  it('never learns or answers a sender address that is not one host (broadcast, multicast, loopback, 0/8)', () => {
    const { host, arp } = setup();
    for (const spa of [0xffffffff, 0xe0000001, 0x7f000001, 0x00000005]) {
      arp.input(arpPayload(ArpOp.REQUEST, MAC_PEER, spa, undefined, IP_US));
      arp.input(arpPayload(ArpOp.REPLY, MAC_PEER, spa, MAC_US, IP_US));
    }
    expect(arp.size).toBe(0);
    expect(host.arps).toHaveLength(0);
    expect(arp.counters).toMatchObject({ badPackets: 8, requestsReceived: 0, repliesReceived: 0, repliesSent: 0 });
  });

  it('gratuitous announcement: request with sender = target = our address, broadcast', () => {
    const { host, arp } = setup();
    arp.announce();
    expect(host.arps[0]!.frame).toEqual(
      hex('ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a4d0001 000000000000 0a4d0001'),
    );
    expect(arp.counters.gratuitousSent).toBe(1);
  });

  it('bounds the number of entries, evicting the oldest least useful one', () => {
    const { clock, arp } = setup({ maxEntries: 4 });
    for (let i = 0; i < 4; i++) {
      clock.advance(1);
      const mac = hex(`02000000010${i}`);
      arp.input(arpPayload(ArpOp.REQUEST, mac, 0x0a4d0100 + i, undefined, IP_US));
    }
    expect(arp.size).toBe(4);
    clock.advance(1);
    arp.enqueue(0x0a4d0200, new Uint8Array([1]));
    expect(arp.size).toBe(4);
    expect(arp.counters.evictions).toBe(1);
    expect(arp.state(0x0a4d0100)).toBeUndefined(); // the oldest reachable one
    expect(arp.state(0x0a4d0200)).toBe('incomplete');
    expect(arp.dump().map((e) => e.ip)).toContain('10.77.2.0');
  });
});

describe('ArpCache logging', () => {
  it('explains drops and failures through the Logger, with the numbers', () => {
    const clock = new ManualClock(0);
    const host = new FakeHost(clock);
    const lines: string[] = [];
    const arp = new ArpCache(host, clock, MAC_US, { queuePerNeighbour: 1 }, { enabled: () => true, log: (_l, m) => lines.push(m) });
    arp.localIp = IP_US;
    arp.enqueue(IP_PEER, new Uint8Array([1]));
    arp.enqueue(IP_PEER, new Uint8Array([2]));
    arp.input(new Uint8Array(3));
    clock.advance(3000);
    expect(lines).toEqual([
      'who-has 10.77.0.2 tell 10.77.0.1',
      'queue for 10.77.0.2 full (1): dropped the oldest datagram',
      'drop: ARP packet of 3 bytes, need 28',
      'who-has 10.77.0.2 tell 10.77.0.1',
      'who-has 10.77.0.2 tell 10.77.0.1',
      '10.77.0.2 unresolved after 3 requests: 1 datagram(s) EHOSTUNREACH',
    ]);
  });
});
