import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { isStackError, type ErrnoName } from '../../src/core/errno.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Ipv4Receiver, NetDevice } from '../../src/link/device.js';
import { checksum } from '../../src/ip/checksum.js';
import { emitEcho, emitIcmpError, fragNeededRest, IcmpPacket, UnreachCode } from '../../src/ip/icmp.js';
import { emitIpv4Header, Ipv4Packet, refreshIpv4Checksum, type Ipv4HeaderFields } from '../../src/ip/ipv4.js';
import { Ipv4Layer, type Ipv4LayerOptions } from '../../src/ip/layer.js';
import { ping } from '../../src/ip/ping.js';
import type { IcmpErrorInfo, IpProtocolHandler, IpRxInfo } from '../../src/ip/types.js';
import { parseIp } from '../../src/ip/types.js';

const ip = (s: string): number => parseIp(s)!;
const US = ip('10.77.0.2');
const PEER = ip('10.77.0.1');
const GW = ip('10.77.0.254');
const FAR = ip('192.0.2.7');
const SEED = 42;

/** A NetDevice that records what IPv4 sends and lets the test inject datagrams. */
class FakeDevice implements NetDevice {
  readonly mtu: number;
  readonly mac = new Uint8Array([2, 0, 0, 0, 0, 2]);
  readonly headroom = 14;
  readonly txFrame = new Uint8Array(14 + 65535);
  sent: { nextHop: number; datagram: Uint8Array }[] = [];
  addr = 0;
  receiver: Ipv4Receiver | undefined;
  failWith: ErrnoName | undefined;
  /** Called for every sent datagram (e.g. to carry it to another layer). */
  onSend: ((nextHop: number, datagram: Uint8Array) => void) | undefined;

  constructor(mtu = 1500) {
    this.mtu = mtu;
  }
  setIpv4Address(addr: number): void {
    this.addr = addr;
  }
  setIpv4Receiver(r: Ipv4Receiver): void {
    this.receiver = r;
  }
  sendIpv4(nextHop: number, len: number): ErrnoName | undefined {
    return this.record(nextHop, this.txFrame.slice(this.headroom, this.headroom + len));
  }
  sendIpv4Copy(nextHop: number, datagram: Uint8Array): ErrnoName | undefined {
    return this.record(nextHop, datagram.slice());
  }
  private record(nextHop: number, datagram: Uint8Array): ErrnoName | undefined {
    if (this.failWith !== undefined) return this.failWith;
    this.sent.push({ nextHop, datagram });
    this.onSend?.(nextHop, datagram);
    return undefined;
  }
  inject(datagram: Uint8Array, linkBroadcast?: boolean): void {
    this.receiver!.receive(datagram, linkBroadcast);
    this.receiver!.batchEnd();
  }
  take(): { nextHop: number; datagram: Uint8Array }[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}

class RecordingHandler implements IpProtocolHandler {
  received: { info: IpRxInfo; payload: Uint8Array }[] = [];
  errors: IcmpErrorInfo[] = [];
  unreachables: { dst: number; errno: ErrnoName }[] = [];
  batches = 0;
  wanted = true;
  receive(info: IpRxInfo, payload: Uint8Array): boolean {
    this.received.push({ info: { ...info, datagram: info.datagram.slice() }, payload: payload.slice() });
    return this.wanted;
  }
  receiveIcmpError(err: IcmpErrorInfo): void {
    this.errors.push({ ...err, quoted: err.quoted.slice() });
  }
  unreachable(dst: number, errno: ErrnoName): void {
    this.unreachables.push({ dst, errno });
  }
  batchEnd(): void {
    this.batches++;
  }
}

function setup(opts: { mtu?: number; options?: Ipv4LayerOptions; addr?: number; clock?: ManualClock; seed?: number } = {}) {
  const clock = opts.clock ?? new ManualClock(0);
  const dev = new FakeDevice(opts.mtu);
  const layer = new Ipv4Layer({
    device: dev,
    clock,
    rng: new SeededRng(opts.seed ?? SEED),
    addr: opts.addr ?? US,
    prefixLen: 24,
    gateway: GW,
    options: opts.options,
  });
  const udp = new RecordingHandler();
  const tcp = new RecordingHandler();
  layer.register(17, udp);
  layer.register(6, tcp);
  return { clock, dev, layer, udp, tcp };
}

/** A datagram with the given payload; header fields overridable. */
function dgram(payload: Uint8Array, f: Partial<Ipv4HeaderFields> = {}): Uint8Array {
  const d = new Uint8Array(20 + payload.length);
  emitIpv4Header(d, 0, { totalLength: d.length, id: 0x1111, ttl: 64, protocol: 17, src: PEER, dst: US, ...f });
  d.set(payload, 20);
  return d;
}

function udpPayload(n = 4, srcPort = 4660, dstPort = 53): Uint8Array {
  const u = new Uint8Array(8 + n);
  u[0] = srcPort >>> 8;
  u[1] = srcPort & 0xff;
  u[2] = dstPort >>> 8;
  u[3] = dstPort & 0xff;
  u[4] = (8 + n) >>> 8;
  u[5] = (8 + n) & 0xff;
  for (let i = 0; i < n; i++) u[8 + i] = 0xa0 + i;
  return u;
}

/** An ICMP error from `from` to us quoting `orig`. */
function icmpError(from: number, type: number, code: number, rest: number, orig: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + Math.min(orig.length, 548));
  emitIcmpError(m, 0, type, code, rest, orig);
  return dgram(m, { protocol: 1, src: from });
}

function parse(d: Uint8Array): Ipv4Packet {
  const p = Ipv4Packet.parse(d);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

function icmpOf(d: Uint8Array): IcmpPacket {
  const m = IcmpPacket.parse(parse(d).payload);
  if (typeof m === 'string') throw new Error(m);
  return m;
}

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

describe('Ipv4Layer: ICMP echo', () => {
  it('answers an echo request with the exact echo reply', () => {
    const { dev, layer } = setup();
    const data = Uint8Array.from({ length: 56 }, (_, i) => (i + 0x10) & 0xff);
    const req = new Uint8Array([...hex('0800 2cf6 1234 0001'), ...data]);
    dev.inject(dgram(req, { protocol: 1, dontFragment: true, id: 0x1c46 }));
    const out = dev.take();
    expect(out).toHaveLength(1);
    expect(out[0]!.nextHop).toBe(PEER);
    const expected = new Uint8Array(84);
    const firstId = new SeededRng(SEED).nextU32() & 0xffff;
    emitIpv4Header(expected, 0, { totalLength: 84, id: firstId, ttl: 64, protocol: 1, src: US, dst: PEER });
    expected.set(hex('0000 34f6 1234 0001'), 20);
    expected.set(data, 28);
    expect(out[0]!.datagram).toEqual(expected);
    expect(layer.icmpStats.InEchos).toBe(1);
    expect(layer.icmpStats.OutEchoReps).toBe(1);
    expect(layer.ipStats.InDelivers).toBe(1);
  });

  it('ignores echo requests to broadcast addresses (Linux icmp_echo_ignore_broadcasts)', () => {
    const { dev, layer } = setup();
    const req = new Uint8Array(16);
    emitEcho(req, 0, 8, 1, 1, new Uint8Array(8));
    dev.inject(dgram(req, { protocol: 1, dst: ip('10.77.0.255') }));
    dev.inject(dgram(req, { protocol: 1, dst: 0xffffffff }));
    expect(dev.take()).toHaveLength(0);
    expect(layer.icmpStats.InEchos).toBe(2);
    expect(layer.ipStats.InBcastPkts).toBe(2);
  });

  it('drops ICMP with a bad checksum (InErrors, InCsumErrors)', () => {
    const { dev, layer } = setup();
    const req = new Uint8Array(16);
    emitEcho(req, 0, 8, 1, 1, new Uint8Array(8));
    req[12] = req[12]! ^ 1;
    dev.inject(dgram(req, { protocol: 1 }));
    expect(dev.take()).toHaveLength(0);
    expect(layer.icmpStats.InErrors).toBe(1);
    expect(layer.icmpStats.InCsumErrors).toBe(1);
  });
});

describe('Ipv4Layer: delivery and ICMP errors we send', () => {
  it('delivers to the protocol handler with the datagram facts', () => {
    const { dev, udp, tcp } = setup();
    const payload = udpPayload(4);
    const d = dgram(payload, { ttl: 33, tos: 0x10 });
    dev.inject(d);
    expect(udp.received).toHaveLength(1);
    const r = udp.received[0]!;
    expect(r.info).toEqual({ src: PEER, dst: US, ttl: 33, tos: 0x10, datagram: d });
    expect(r.payload).toEqual(payload);
    expect(tcp.received).toHaveLength(0);
    expect(udp.batches).toBe(1);
    expect(tcp.batches).toBe(1);
  });

  it('answers a refused datagram with port unreachable quoting it', () => {
    const { dev, layer, udp } = setup();
    udp.wanted = false;
    const d = dgram(udpPayload(20));
    dev.inject(d);
    const out = dev.take();
    expect(out).toHaveLength(1);
    const p = parse(out[0]!.datagram);
    expect([p.src, p.dst, p.protocol, p.tos, p.ttl]).toEqual([US, PEER, 1, 0xc0, 64]);
    const m = icmpOf(out[0]!.datagram);
    expect([m.type, m.code, m.rest]).toEqual([3, 3, 0]);
    expect(m.data).toEqual(d);
    expect(layer.icmpStats.OutDestUnreachs).toBe(1);
  });

  it('survives a nested receive from a synchronous link: the outer datagram is quoted', () => {
    const { dev, udp } = setup();
    udp.wanted = false;
    const outer = dgram(udpPayload(6), { id: 1 });
    const inner = dgram(udpPayload(2), { id: 2 });
    let nested = false;
    udp.receive = (info, payload) => {
      if (!nested) {
        nested = true;
        dev.inject(inner);
        expect(info.datagram).toEqual(outer);
        expect(payload).toEqual(udpPayload(6));
      }
      return false;
    };
    dev.inject(outer);
    const quotes = dev.take().map((o) => icmpOf(o.datagram).data);
    expect(quotes).toEqual([inner, outer]);
  });

  it('never answers broadcasts with ICMP errors', () => {
    const { dev, udp } = setup();
    udp.wanted = false;
    dev.inject(dgram(udpPayload(), { dst: 0xffffffff }));
    dev.inject(dgram(udpPayload(), { dst: ip('10.77.0.255') }));
    dev.inject(dgram(udpPayload(), { dst: ip('10.77.0.0') }));
    expect(udp.received).toHaveLength(3);
    expect(dev.take()).toHaveLength(0);
  });

  it('never answers a datagram that came as a link-layer broadcast (RFC 1122 3.2.2), and drops unicast ones (3.3.6)', () => {
    const { dev, udp, layer } = setup();
    udp.wanted = false;
    // IP broadcast in a link-layer broadcast: delivered, never answered.
    dev.inject(dgram(udpPayload(), { dst: 0xffffffff }), true);
    // Our unicast address in a link-layer broadcast: "SHOULD silently discard".
    dev.inject(dgram(udpPayload(), { dst: US }), true);
    dev.inject(dgram(new Uint8Array(8), { dst: US, protocol: 99 }), true);
    expect(udp.received).toHaveLength(1);
    expect(dev.take()).toHaveLength(0);
    expect(layer.ipStats.InAddrErrors).toBe(2);
    // The same unicast datagram as a link-layer unicast is answered (port unreachable).
    dev.inject(dgram(udpPayload(), { dst: US }), false);
    expect(dev.take()).toHaveLength(1);
  });

  it('acceptUnicastInLinkBroadcast: delivered (as Linux by default), still never answered', () => {
    const { dev, udp } = setup({ options: { acceptUnicastInLinkBroadcast: true } });
    udp.wanted = false;
    dev.inject(dgram(udpPayload(), { dst: US }), true);
    dev.inject(dgram(new Uint8Array(8), { dst: US, protocol: 99 }), true);
    dev.inject(dgram(Uint8Array.from([8, 0, 0xf7, 0xfe, 0, 1, 0, 0]), { dst: US, protocol: 1 }), true);
    expect(udp.received).toHaveLength(1);
    // No port or protocol unreachable; the echo request (a query, not an error) is answered.
    const out = dev.take();
    expect(out).toHaveLength(1);
    expect(icmpOf(out[0]!.datagram).type).toBe(0);
  });

  it('never sends errors to a source that is not one host', () => {
    const { dev, udp, layer } = setup();
    udp.wanted = false;
    // 0.0.0.0 is a source only while a host configures itself, toward 255.255.255.255
    // (Linux: martian otherwise); class E is accepted (as Linux does).
    dev.inject(dgram(udpPayload(), { src: 0, dst: 0xffffffff }));
    dev.inject(dgram(udpPayload(), { src: ip('240.0.0.1') }));
    expect(udp.received).toHaveLength(2);
    expect(dev.take()).toHaveLength(0);
    // RFC 1122 3.2.1.3: a 0.0.0.0/8 source toward our unicast address is invalid.
    dev.inject(dgram(udpPayload(), { src: 0 }));
    dev.inject(dgram(udpPayload(), { src: ip('0.1.2.3') }));
    expect(udp.received).toHaveLength(2);
    expect(layer.ipStats.InAddrErrors).toBe(2);
    expect(dev.take()).toHaveLength(0);
  });

  it('answers an unknown protocol with protocol unreachable', () => {
    const { dev, layer } = setup();
    const d = dgram(new Uint8Array(12), { protocol: 99 });
    dev.inject(d);
    expect(layer.ipStats.InUnknownProtos).toBe(1);
    const out = dev.take();
    expect(out).toHaveLength(1);
    const m = icmpOf(out[0]!.datagram);
    expect([m.type, m.code]).toEqual([3, 2]);
    expect(m.data).toEqual(d);
  });

  it('answers malformed options with parameter problem, but never about an ICMP error', () => {
    const { dev, layer, udp } = setup();
    const bad = (payload: Uint8Array, protocol: number) => {
      const d = new Uint8Array(24 + payload.length);
      emitIpv4Header(d, 0, { totalLength: d.length, id: 5, ttl: 64, protocol, src: PEER, dst: US });
      d[0] = 0x46;
      d.set([1, 7, 1, 0], 20); // option type 7 with length 1
      d.set(payload, 24);
      refreshIpv4Checksum(d, 0, 24);
      return d;
    };
    dev.inject(bad(udpPayload(), 17));
    expect(udp.received).toHaveLength(0);
    const out = dev.take();
    expect(out).toHaveLength(1);
    const m = icmpOf(out[0]!.datagram);
    expect([m.type, m.code, m.pointer]).toEqual([12, 0, 22]);
    // Nor about a non-initial fragment (RFC 1122 3.2.2).
    const frag = bad(udpPayload(), 17);
    frag[6] = 0x00;
    frag[7] = 0x02; // offset 16
    refreshIpv4Checksum(frag, 0, 24);
    dev.inject(frag);
    expect(dev.take()).toHaveLength(0);
    const err = new Uint8Array(36);
    emitIcmpError(err, 0, 3, 3, 0, dgram(udpPayload(0), { src: US, dst: PEER }));
    dev.inject(bad(err, 1));
    expect(dev.take()).toHaveLength(0);
    expect(layer.ipStats.InHdrErrors).toBe(3);
  });

  it('rate-limits ICMP errors with a token bucket (burst 50, 1000/s)', () => {
    const { clock, dev, layer } = setup();
    for (let i = 0; i < 80; i++) dev.inject(dgram(new Uint8Array(8), { protocol: 99 }));
    expect(dev.take()).toHaveLength(50);
    expect(layer.icmpStats.OutRateLimited).toBe(30);
    clock.advance(10); // 10 tokens back
    for (let i = 0; i < 20; i++) dev.inject(dgram(new Uint8Array(8), { protocol: 99 }));
    expect(dev.take()).toHaveLength(10);
    expect(layer.icmpStats.OutRateLimited).toBe(40);
  });
});

describe('Ipv4Layer: receive validation', () => {
  it('counts and drops malformed, truncated and misaddressed datagrams', () => {
    const { dev, layer, udp } = setup();
    const good = dgram(udpPayload());
    const badSum = good.slice();
    badSum[10] = badSum[10]! ^ 0xff;
    dev.inject(badSum);
    dev.inject(good.subarray(0, good.length - 1));
    dev.inject(good.subarray(0, 10));
    dev.inject(dgram(udpPayload(), { dst: ip('10.77.0.3') }));
    dev.inject(dgram(udpPayload(), { dst: ip('127.0.0.1') }));
    dev.inject(dgram(udpPayload(), { src: US }));
    dev.inject(dgram(udpPayload(), { src: ip('127.0.0.1') }));
    dev.inject(dgram(udpPayload(), { src: ip('224.0.0.5') }));
    expect(udp.received).toHaveLength(0);
    expect(dev.take()).toHaveLength(0);
    const s = layer.ipStats;
    expect(s.InReceives).toBe(8);
    expect(s.InHdrErrors).toBe(2);
    expect(s.InCsumErrors).toBe(1);
    expect(s.InTruncatedPkts).toBe(1);
    expect(s.InAddrErrors).toBe(5);
    // Trailing Ethernet padding is fine.
    const padded = new Uint8Array(60);
    padded.set(dgram(udpPayload(0)));
    dev.inject(padded);
    expect(udp.received).toHaveLength(1);
    expect(udp.received[0]!.payload.length).toBe(8);
  });

  it('drops datagrams whose source route names further hops (we do not forward)', () => {
    const { dev, layer, udp } = setup();
    const payload = udpPayload();
    const d = new Uint8Array(28 + payload.length);
    emitIpv4Header(d, 0, { totalLength: d.length, id: 5, ttl: 64, protocol: 17, src: PEER, dst: US });
    d[0] = 0x47;
    d.set([131, 7, 4, 10, 77, 0, 9, 0], 20);
    d.set(payload, 28);
    refreshIpv4Checksum(d, 0, 28);
    dev.inject(d);
    expect(udp.received).toHaveLength(0);
    expect(layer.ipStats.InDiscards).toBe(1);
    d[22] = 8; // route exhausted: we are the final destination
    refreshIpv4Checksum(d, 0, 28);
    dev.inject(d);
    expect(udp.received).toHaveLength(1);
  });

  it('never throws on thousands of random and mutated datagrams', () => {
    const { dev, layer, udp, tcp } = setup();
    udp.wanted = false;
    const rng = new SeededRng(0xf022);
    const seeds = [
      dgram(udpPayload(30)),
      dgram(udpPayload(30), { moreFragments: true }),
      dgram(udpPayload(30), { fragmentOffset: 8 }),
      icmpError(GW, 3, 4, fragNeededRest(1000), dgram(udpPayload(30), { src: US, dst: FAR })),
      dgram(Uint8Array.from([8, 0, 0xf7, 0xfe, 0, 1, 0, 0]), { protocol: 1 }),
    ];
    let n = 0;
    for (let t = 0; t < 4000; t++) {
      let d: Uint8Array;
      if (t % 4 === 0) {
        d = new Uint8Array(rng.nextInt(0, 80));
        for (let i = 0; i < d.length; i++) d[i] = rng.nextU32() & 0xff;
        if (d.length > 0 && (t & 8) !== 0) d[0] = 0x45;
      } else {
        d = seeds[t % seeds.length]!.slice(0, rng.nextInt(0, 120));
        const flips = rng.nextInt(1, 4);
        for (let k = 0; k < flips && d.length > 0; k++) d[rng.nextInt(0, d.length)] = rng.nextU32() & 0xff;
        // Keep the header checksum valid half the time so deeper code runs.
        if ((t & 1) === 0 && d.length >= 20 && (d[0]! & 0x0f) >= 5 && (d[0]! & 0x0f) * 4 <= d.length) {
          refreshIpv4Checksum(d, 0, (d[0]! & 0x0f) * 4);
        }
      }
      expect(() => dev.inject(d)).not.toThrow();
      n++;
    }
    const { ip: s, icmp } = layer.stats();
    expect(s.InReceives).toBe(n);
    // Every datagram ends in exactly one counter; a reassembled one once more (see inputWith).
    const ends = s.InHdrErrors! + s.InTruncatedPkts! + s.InAddrErrors! + s.InDiscards! + s.InUnknownProtos! + s.InDelivers! + s.ReasmReqds!;
    expect(ends).toBe(n + s.ReasmOKs!);
    expect(s.InDelivers).toBe(icmp.InMsgs! + udp.received.length + tcp.received.length);
    // The mutations reached the deep paths, not just the header check.
    for (const k of ['InHdrErrors', 'InCsumErrors', 'InTruncatedPkts', 'InAddrErrors', 'InDelivers', 'ReasmReqds']) expect([k, s[k]! > 0]).toEqual([k, true]);
    dev.take();
  });
});

describe('Ipv4Layer: ICMP errors we receive', () => {
  const ourUdp = () => dgram(udpPayload(12, 5000, 53), { src: US, dst: FAR });

  it('hands an error to the transport that sent the quoted datagram, with errno', () => {
    const cases: [number, number, ErrnoName][] = [
      [3, UnreachCode.PORT, 'ECONNREFUSED'],
      [3, UnreachCode.NET, 'ENETUNREACH'],
      [3, UnreachCode.HOST, 'EHOSTUNREACH'],
      [3, UnreachCode.PROTOCOL, 'ENOPROTOOPT'],
      [3, UnreachCode.ADMIN_PROHIBITED, 'EHOSTUNREACH'],
      [11, 0, 'EHOSTUNREACH'],
    ];
    for (const [type, code, errno] of cases) {
      const { dev, udp, tcp } = setup();
      dev.inject(icmpError(GW, type, code, 0, ourUdp()));
      expect(tcp.errors).toHaveLength(0);
      expect(udp.errors).toHaveLength(1);
      const e = udp.errors[0]!;
      expect(e).toMatchObject({ type, code, errno, src: US, dst: FAR, nextHopMtu: 0 });
      expect(e.quoted.subarray(0, 8)).toEqual(udpPayload(12, 5000, 53).subarray(0, 8));
    }
  });

  it('ignores errors quoting datagrams we did not send, errors to broadcast, and source quench', () => {
    const { dev, layer, udp } = setup();
    dev.inject(icmpError(GW, 3, 3, 0, dgram(udpPayload(), { src: ip('10.77.0.9'), dst: FAR })));
    const toBcast = icmpError(GW, 3, 3, 0, ourUdp());
    toBcast.set([10, 77, 0, 255], 16);
    refreshIpv4Checksum(toBcast, 0, 20);
    dev.inject(toBcast);
    dev.inject(icmpError(GW, 4, 0, 0, ourUdp()));
    expect(udp.errors).toHaveLength(0);
    expect(layer.icmpStats.InErrors).toBe(2);
    expect(layer.icmpStats.InSrcQuenchs).toBe(1);
  });

  it('frag-needed lowers the path MTU (never below 68, never raised) until it expires after 10 min', () => {
    const { clock, dev, layer, tcp } = setup();
    const ourTcp = dgram(new Uint8Array(1480), { src: US, dst: FAR, protocol: 6, dontFragment: true });
    expect(layer.pathMtu(FAR)).toBe(1500);
    dev.inject(icmpError(GW, 3, 4, fragNeededRest(1400), ourTcp));
    expect(layer.pathMtu(FAR)).toBe(1400);
    expect(layer.pathMtu(ip('192.0.2.8'))).toBe(1500);
    expect(tcp.errors[0]).toMatchObject({ errno: 'EMSGSIZE', nextHopMtu: 1400, dst: FAR });
    dev.inject(icmpError(GW, 3, 4, fragNeededRest(1450), ourTcp));
    expect(layer.pathMtu(FAR)).toBe(1400);
    dev.inject(icmpError(GW, 3, 4, fragNeededRest(20), ourTcp));
    expect(layer.pathMtu(FAR)).toBe(68);
    expect(tcp.errors[2]!.nextHopMtu).toBe(68);
    clock.advance(10 * 60 * 1000 - 1);
    expect(layer.pathMtu(FAR)).toBe(68);
    clock.advance(1);
    expect(layer.pathMtu(FAR)).toBe(1500);
  });

  it('guesses a plateau when the router gives no next-hop MTU (RFC 1191 section 5)', () => {
    const { dev, layer } = setup();
    dev.inject(icmpError(GW, 3, 4, 0, dgram(new Uint8Array(1480), { src: US, dst: FAR, protocol: 6 })));
    expect(layer.pathMtu(FAR)).toBe(1492);
  });

  it('tells the transport when address resolution fails', () => {
    const { layer, tcp, udp } = setup();
    layer.resolutionFailed(PEER, dgram(new Uint8Array(20), { src: US, dst: PEER, protocol: 6 }));
    expect(tcp.unreachables).toEqual([{ dst: PEER, errno: 'EHOSTUNREACH' }]);
    // A non-first fragment says nothing about its transport.
    layer.resolutionFailed(PEER, dgram(new Uint8Array(20), { src: US, dst: PEER, fragmentOffset: 8 }));
    expect(udp.unreachables).toHaveLength(0);
    expect(layer.ipStats.OutUnresolved).toBe(2);
  });
});

describe('Ipv4Layer: sending', () => {
  it('writes the header in place in front of scratch and picks the next hop', () => {
    const { dev, layer } = setup();
    expect(layer.scratch.byteOffset).toBe(dev.txFrame.byteOffset + 14 + 20);
    expect(layer.localAddr).toBe(US);
    layer.scratch.set(udpPayload(3));
    expect(layer.send(PEER, 17, 11, { ttl: 7, tos: 0x20, dontFragment: true })).toBeUndefined();
    expect(layer.send(FAR, 17, 11)).toBeUndefined();
    expect(layer.send(0xffffffff, 17, 11)).toBeUndefined();
    const out = dev.take();
    expect(out.map((o) => o.nextHop)).toEqual([PEER, GW, 0xffffffff]);
    const p = parse(out[0]!.datagram);
    expect([p.ttl, p.tos, p.dontFragment, p.src, p.dst, p.protocol, p.totalLength]).toEqual([7, 0x20, true, US, PEER, 17, 31]);
    expect(p.payload).toEqual(udpPayload(3));
    const ids = out.map((o) => parse(o.datagram).id);
    expect(ids[1]).toBe((ids[0]! + 1) & 0xffff);
    expect(layer.ipStats.OutRequests).toBe(3);
  });

  it('has no route without a gateway: ENETUNREACH', () => {
    const dev = new FakeDevice();
    const layer = new Ipv4Layer({ device: dev, clock: new ManualClock(), rng: new SeededRng(1), addr: US, prefixLen: 24 });
    expect(dev.addr).toBe(US);
    expect(layer.send(FAR, 17, 8)).toBe('ENETUNREACH');
    expect(layer.ipStats.OutNoRoutes).toBe(1);
    expect(dev.take()).toHaveLength(0);
  });

  it('DF and too big: EMSGSIZE, nothing sent', () => {
    const { dev, layer } = setup();
    expect(layer.send(PEER, 17, 1481, { dontFragment: true })).toBe('EMSGSIZE');
    expect(layer.send(PEER, 17, 65516)).toBe('EMSGSIZE');
    expect(dev.take()).toHaveLength(0);
    expect(layer.ipStats.FragFails).toBe(1);
  });

  it('passes device errors up', () => {
    const { dev, layer } = setup();
    dev.failWith = 'ENOBUFS';
    expect(layer.send(PEER, 17, 8)).toBe('ENOBUFS');
    expect(layer.send(PEER, 17, 3000)).toBe('ENOBUFS');
    expect(layer.ipStats.OutDiscards).toBe(2);
  });

  it('fragments a big datagram and a second layer reassembles it', () => {
    const a = setup({ mtu: 1500 });
    const b = setup({ mtu: 1500, addr: PEER, clock: a.clock, seed: 7 });
    a.dev.onSend = (_nh, d) => b.dev.inject(d);
    const n = 4000;
    for (let i = 0; i < n; i++) a.layer.scratch[i] = (i * 13) & 0xff;
    const payload = a.layer.scratch.slice(0, n);
    expect(a.layer.send(PEER, 17, n)).toBeUndefined();
    const frags = a.dev.take().map((o) => parse(o.datagram));
    expect(frags).toHaveLength(3);
    expect(frags.map((f) => [f.fragmentOffset, f.payload.length, f.moreFragments])).toEqual([
      [0, 1480, true],
      [1480, 1480, true],
      [2960, 1040, false],
    ]);
    for (const f of frags) {
      expect(f.totalLength).toBeLessThanOrEqual(1500);
      expect(f.id).toBe(frags[0]!.id);
    }
    expect(a.layer.ipStats.FragOKs).toBe(1);
    expect(a.layer.ipStats.FragCreates).toBe(3);
    expect(b.udp.received).toHaveLength(1);
    expect(b.udp.received[0]!.payload).toEqual(payload);
    expect(b.udp.received[0]!.info.datagram.length).toBe(20 + n);
    expect(b.layer.stats().ip.ReasmOKs).toBe(1);
  });

  it('fragments to the learned path MTU, with 8-byte aligned offsets', () => {
    const { dev, layer } = setup();
    dev.inject(icmpError(GW, 3, 4, fragNeededRest(577), dgram(new Uint8Array(1000), { src: US, dst: FAR, protocol: 17 })));
    expect(layer.pathMtu(FAR)).toBe(577);
    expect(layer.send(FAR, 17, 1200)).toBeUndefined();
    const frags = dev.take().map((o) => parse(o.datagram));
    expect(frags.map((f) => f.payload.length)).toEqual([552, 552, 96]);
    expect(frags.every((f) => f.fragmentOffset % 8 === 0 && f.totalLength <= 577)).toBe(true);
  });

  it('sends ICMP time exceeded (code 1) when reassembly times out with the first fragment', () => {
    const { clock, dev, layer } = setup();
    const first = dgram(udpPayload(40), { moreFragments: true, id: 77 });
    dev.inject(first);
    expect(dev.take()).toHaveLength(0);
    clock.advance(30_000);
    const out = dev.take();
    expect(out).toHaveLength(1);
    const m = icmpOf(out[0]!.datagram);
    expect([m.type, m.code]).toEqual([11, 1]);
    expect(m.data).toEqual(first);
    expect(layer.stats().ip.ReasmTimeout).toBe(1);
    expect(layer.icmpStats.OutTimeExcds).toBe(1);
    // Without the first fragment: nothing.
    dev.inject(dgram(udpPayload(40), { fragmentOffset: 48, id: 78 }));
    clock.advance(30_000);
    expect(dev.take()).toHaveLength(0);
  });
});

describe('Ipv4Layer: loopback', () => {
  it('delivers datagrams to ourselves through a queue, not recursively', () => {
    const { clock, dev, layer, udp } = setup();
    layer.scratch.set(udpPayload(2));
    expect(layer.send(US, 17, 10)).toBeUndefined();
    expect(layer.send(ip('127.0.0.1'), 17, 10)).toBeUndefined();
    expect(udp.received).toHaveLength(0);
    clock.advance(0);
    expect(udp.received.map((r) => [r.info.src, r.info.dst])).toEqual([
      [US, US],
      [ip('127.0.0.1'), ip('127.0.0.1')],
    ]);
    expect(dev.take()).toHaveLength(0);
    expect(layer.pathMtu(US)).toBe(65535);
  });

  it('a refused datagram to ourselves comes back as ECONNREFUSED', () => {
    const { clock, layer, udp } = setup();
    udp.wanted = false;
    layer.scratch.set(udpPayload(2));
    layer.send(US, 17, 10);
    clock.advance(0);
    expect(udp.errors).toHaveLength(1);
    expect(udp.errors[0]).toMatchObject({ errno: 'ECONNREFUSED', src: US, dst: US });
  });
});

describe('ping', () => {
  /** Two layers joined by a wire with a one-way delay on virtual time. */
  function pair(delayMs: number) {
    const clock = new ManualClock(0);
    const a = setup({ clock, seed: 1 });
    const b = setup({ clock, addr: PEER, seed: 2 });
    const wire = (from: FakeDevice, to: FakeDevice) => {
      from.onSend = (_nh, d) => {
        const t = clock.createTimer(() => to.inject(d));
        t.arm(clock.now() + delayMs);
      };
    };
    wire(a.dev, b.dev);
    wire(b.dev, a.dev);
    return { clock, a, b };
  }

  it('resolves with the round-trip time on virtual time', async () => {
    const { clock, a, b } = pair(5);
    const p = ping(a.layer, PEER, { size: 100 });
    clock.advance(9);
    let settled = false;
    void p.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(1);
    const r = await p;
    expect(r).toEqual({ rttMs: 10, ttl: 64, bytes: 108, seq: 1, from: PEER });
    expect(b.layer.icmpStats.InEchos).toBe(1);
    expect(a.layer.icmpStats.InEchoReps).toBe(1);
  });

  it('times out with ETIMEDOUT', async () => {
    const { clock, dev, layer } = setup();
    const p = ping(layer, PEER, { timeoutMs: 500 });
    expect(dev.take()).toHaveLength(1);
    clock.advance(499);
    const caught = p.catch((e: unknown) => e);
    clock.advance(1);
    const e = await caught;
    expect(isStackError(e, 'ETIMEDOUT')).toBe(true);
    // The identifier is free again: a late reply is ignored without trouble.
    expect(layer.allocEchoId()).toBeDefined();
  });

  it('rejects with the errno of an ICMP error about the request', async () => {
    const { dev, layer } = setup();
    const p = ping(layer, FAR, { id: 0x0bad, seq: 3 });
    const req = dev.take()[0]!.datagram;
    dev.inject(icmpError(GW, 3, UnreachCode.HOST, 0, req));
    await expect(p).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
  });

  it('rejects with EHOSTUNREACH when ARP fails, and with ENETUNREACH without a route', async () => {
    const { dev, layer } = setup();
    const p = ping(layer, PEER);
    layer.resolutionFailed(PEER, dev.take()[0]!.datagram);
    await expect(p).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    await expect(ping(layer, ip('224.0.0.1'))).rejects.toMatchObject({ code: 'ENETUNREACH' });
  });

  it('pings our own address through loopback', async () => {
    const { clock, layer } = setup();
    const p = ping(layer, US, { size: 8 });
    clock.advance(0);
    const r = await p;
    expect(r.rttMs).toBe(0);
    expect(r.bytes).toBe(16);
  });

  it('a pending ping fails at once with ENETDOWN when the layer closes; later pings too', async () => {
    const { clock, layer } = setup();
    const p = ping(layer, PEER, { timeoutMs: 1000 });
    layer.close();
    await expect(p).rejects.toMatchObject({ code: 'ENETDOWN' });
    expect(clock.nextDeadline()).toBeUndefined(); // its timeout timer was cancelled
    await expect(ping(layer, PEER)).rejects.toMatchObject({ code: 'ENETDOWN' });
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('refuses an identifier already in use', async () => {
    const { layer } = setup();
    const first = ping(layer, PEER, { id: 9, timeoutMs: 10 });
    await expect(ping(layer, PEER, { id: 9 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    first.catch(() => {});
  });
});

describe('Ipv4Layer: misc', () => {
  it('refuses to register ICMP or a protocol twice', () => {
    const { layer } = setup();
    expect(() => layer.register(1, new RecordingHandler())).toThrow();
    expect(() => layer.register(17, new RecordingHandler())).toThrow();
  });

  it('close(): no timer stays armed, sends fail with ENETDOWN, received datagrams are discarded', () => {
    const { clock, dev, layer, udp } = setup();
    dev.inject(dgram(udpPayload(30), { moreFragments: true })); // reassembly timer
    layer.send(US, 17, 8); // loopback timer
    expect(clock.nextDeadline()).toBeDefined();
    layer.close();
    expect(clock.nextDeadline()).toBeUndefined();
    expect(layer.send(PEER, 17, 8)).toBe('ENETDOWN');
    expect(layer.send(US, 17, 8)).toBe('ENETDOWN');
    dev.inject(dgram(udpPayload()));
    dev.inject(dgram(udpPayload(30), { moreFragments: true, id: 9 }));
    expect(udp.received).toHaveLength(0);
    expect(dev.take()).toHaveLength(0);
    expect(layer.ipStats.InDiscards).toBe(2);
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('counts ICMP messages of types it does not handle, and answers them with nothing', () => {
    const { dev, layer } = setup();
    for (const type of [15, 17, 42]) {
      const m = new Uint8Array(8);
      m[0] = type;
      const sum = checksum(m);
      m[2] = ~sum >>> 8;
      m[3] = ~sum;
      dev.inject(dgram(m, { protocol: 1 }));
    }
    expect(layer.icmpStats).toMatchObject({ InMsgs: 3, InUnknownTypes: 3, InErrors: 0 });
    expect(dev.take()).toHaveLength(0);
  });

  it('stats() is a snapshot with Ip and Icmp counters', () => {
    const { dev, layer } = setup();
    dev.inject(dgram(udpPayload()));
    const s = layer.stats();
    dev.inject(dgram(udpPayload()));
    expect(s.ip.InReceives).toBe(1);
    expect(layer.stats().ip.InReceives).toBe(2);
    expect(s.icmp).toHaveProperty('OutRateLimited', 0);
  });
});
