/**
 * Seeded mutation fuzzing of the foundation's receive path: valid Ethernet / ARP / IPv4 /
 * ICMP / fragment frames, mutated thousands of times (bit flips, random bytes, header
 * fields set to edge values, truncation, extension; checksums re-fixed half the time so
 * the mutations reach past the checksum checks), pushed through EthernetInterface.receive
 * into Ipv4Layer and recording transport handlers, with virtual time moving so the ARP
 * and reassembly timers fire.
 *
 * Asserted: nothing throws; the counters account for every frame exactly (Ethernet, ARP,
 * IPv4 and ICMP identities); the mutations reached the deep paths (coverage counters);
 * everything the stack sent in answer is well formed (parses, checksums verify, from our
 * addresses, no ICMP error about an ICMP error or to a broadcast/martian); memory stays
 * within its bounds; and after close() no timer is left armed.
 *
 * Replay a failure: TCPIP_FUZZ_SEED=<seed> npx vitest run test/unit/fuzz-stack.test.ts
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { readU16, readU32 } from '../../src/core/bytes.js';
import { checksum, finish } from '../../src/ip/checksum.js';
import { emitEcho, emitIcmpError, fragNeededRest, IcmpPacket, isIcmpError, isIcmpQuery } from '../../src/ip/icmp.js';
import { emitIpv4Header, Ipv4Packet, refreshIpv4Checksum, type Ipv4HeaderFields } from '../../src/ip/ipv4.js';
import { Ipv4Layer } from '../../src/ip/layer.js';
import type { IpProtocolHandler, IpRxInfo } from '../../src/ip/types.js';
import { ArpOp, ArpPacket, emitArp } from '../../src/link/arp.js';
import { EtherType, EthernetFrame, ParseError, emitEthernetHeader } from '../../src/link/ethernet.js';
import { EthernetInterface } from '../../src/link/interface.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import { isMulticastMac } from '../../src/link/mac.js';

const US = 0x0a4d0002; // 10.77.0.2/24
const PEER = 0x0a4d0001;
const OTHER = 0x0a4d0003;
const GW = 0x0a4d00fe;
const FAR = 0xc0000207; // 192.0.2.7
const SUBNET_BCAST = 0x0a4d00ff;
const MAC_US = Uint8Array.of(2, 0, 0, 0, 0, 2);
const MAC_PEER = Uint8Array.of(2, 0, 0, 0, 0, 1);
const MAC_OTHER = Uint8Array.of(2, 0, 0, 0, 0, 3);
const BCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
const MCAST_MAC = Uint8Array.of(0x01, 0x00, 0x5e, 0, 0, 1);
const ECHO_ID = 0x4242;

const ITERATIONS = 6000;
const SEEDS = process.env['TCPIP_FUZZ_SEED'] !== undefined ? [Number(process.env['TCPIP_FUZZ_SEED'])] : [0xf00d, 0xbeef, 7];

class FakeLink implements Link {
  readonly mtu = 1500;
  sent: Uint8Array[] = [];
  receiver: LinkReceiver | undefined;
  send(f: Uint8Array): boolean {
    this.sent.push(f.slice());
    return true;
  }
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  close(): void {}
}

/** Records deliveries; checks the facts it is handed; UDP sometimes refuses or answers from inside receive(). */
class Transport implements IpProtocolHandler {
  calls = 0;
  errors = 0;
  unreachables = 0;
  private readonly ip: () => Ipv4Layer;
  private readonly proto: number;
  constructor(proto: number, ip: () => Ipv4Layer) {
    this.proto = proto;
    this.ip = ip;
  }
  receive(info: IpRxInfo, payload: Uint8Array): boolean {
    this.calls++;
    const d = info.datagram;
    const hl = (d[0]! & 0x0f) * 4;
    // The payload is the tail of the datagram the facts describe, not a copy.
    if (payload.buffer !== d.buffer || payload.byteOffset !== d.byteOffset + hl || payload.length !== d.length - hl) {
      throw new Error('payload is not the datagram payload');
    }
    if (d[9] !== this.proto) throw new Error(`protocol ${d[9]} delivered to ${this.proto}`);
    if (this.proto !== 17) return true;
    const verdict = payload[0] ?? 0;
    if ((verdict & 3) === 1) {
      // Answer from inside receive(), as a transport sending an ACK or RST does.
      const ip = this.ip();
      ip.scratch.fill(0x5a, 0, 8);
      ip.send(info.src, 17, 8);
    }
    return (verdict & 2) === 0;
  }
  receiveIcmpError(): void {
    this.errors++;
  }
  unreachable(): void {
    this.unreachables++;
  }
}

function ipv4Frame(ethDst: Uint8Array, payload: Uint8Array, f: Partial<Ipv4HeaderFields> = {}, frameLen?: number): Uint8Array {
  const total = 20 + payload.length;
  const out = new Uint8Array(Math.max(frameLen ?? 0, 14 + total));
  emitEthernetHeader(out, 0, ethDst, MAC_PEER, EtherType.IPv4);
  emitIpv4Header(out, 14, { totalLength: total, id: 0x3333, ttl: 64, protocol: 17, src: PEER, dst: US, ...f });
  out.set(payload, 34);
  return out;
}

function arpFrame(ethDst: Uint8Array, op: number, sha: Uint8Array, spa: number, tha: Uint8Array | undefined, tpa: number): Uint8Array {
  const out = new Uint8Array(60);
  emitEthernetHeader(out, 0, ethDst, sha, EtherType.ARP);
  emitArp(out, 14, op, sha, spa, tha, tpa);
  return out;
}

function udp(n: number, first = 0): Uint8Array {
  const u = new Uint8Array(8 + n);
  u.set([0x30, 0x39, 0x00, 0x35, 0, 8 + n], 0);
  for (let i = 0; i < n; i++) u[8 + i] = (first + i * 7) & 0xff;
  return u;
}

function icmpMessage(build: (buf: Uint8Array) => number): Uint8Array {
  const buf = new Uint8Array(700);
  return buf.slice(0, build(buf));
}

/** Datagram bytes (no Ethernet) of something we sent, for ICMP errors to quote. */
function ourDatagram(proto: number, dst: number, payload: Uint8Array): Uint8Array {
  const d = new Uint8Array(20 + payload.length);
  emitIpv4Header(d, 0, { totalLength: d.length, id: 0x77, ttl: 64, protocol: proto, src: US, dst });
  d.set(payload, 20);
  return d;
}

function corpus(): Uint8Array[] {
  const tcp = new Uint8Array(30);
  tcp.set([0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff], 0);
  const whole = udp(92, 3); // 100 bytes, split into 3 fragments below
  const frag = (off: number, end: number, mf: boolean) =>
    ipv4Frame(MAC_US, whole.subarray(off, end), { id: 0x5151, moreFragments: mf, fragmentOffset: off });
  const withOptions = (opts: number[], ethDst = MAC_US) => {
    const payload = udp(10);
    const f = new Uint8Array(14 + 20 + opts.length + payload.length);
    emitEthernetHeader(f, 0, ethDst, MAC_PEER, EtherType.IPv4);
    emitIpv4Header(f, 14, { totalLength: 20 + opts.length + payload.length, id: 9, ttl: 64, protocol: 17, src: PEER, dst: US });
    f[14] = 0x40 | ((20 + opts.length) / 4);
    f.set(opts, 34);
    f.set(payload, 34 + opts.length);
    refreshIpv4Checksum(f, 14, 20 + opts.length);
    return f;
  };
  const vlan = new Uint8Array(64);
  emitEthernetHeader(vlan, 0, MAC_US, MAC_PEER, EtherType.VLAN);
  vlan.set([0, 5, 0x08, 0x00, 0x45], 14);
  const ipv6 = new Uint8Array(74);
  emitEthernetHeader(ipv6, 0, MAC_US, MAC_PEER, EtherType.IPv6);
  ipv6[14] = 0x60;
  return [
    arpFrame(BCAST_MAC, ArpOp.REQUEST, MAC_PEER, PEER, undefined, US),
    arpFrame(MAC_US, ArpOp.REPLY, MAC_OTHER, OTHER, MAC_US, US),
    arpFrame(BCAST_MAC, ArpOp.REQUEST, MAC_PEER, PEER, undefined, OTHER),
    arpFrame(BCAST_MAC, ArpOp.REQUEST, MAC_PEER, 0, undefined, US), // RFC 5227 probe
    ipv4Frame(MAC_US, udp(30)),
    ipv4Frame(MAC_US, udp(30, 1)), // refused: port unreachable
    ipv4Frame(MAC_US, udp(30, 2), { src: FAR }), // answered from receive()
    ipv4Frame(MAC_US, tcp, { protocol: 6, dontFragment: true }),
    ipv4Frame(MAC_US, new Uint8Array(12), { protocol: 99 }), // protocol unreachable
    ipv4Frame(MAC_US, icmpMessage((b) => emitEcho(b, 0, 8, 0x1234, 7, Uint8Array.from({ length: 40 }, (_, i) => i))), { protocol: 1 }),
    ipv4Frame(MAC_US, icmpMessage((b) => emitEcho(b, 0, 0, ECHO_ID, 1, new Uint8Array(16))), { protocol: 1 }),
    ipv4Frame(MAC_US, icmpMessage((b) => emitIcmpError(b, 0, 3, 4, fragNeededRest(1200), ourDatagram(17, FAR, udp(40)))), { protocol: 1, src: GW }),
    ipv4Frame(MAC_US, icmpMessage((b) => emitIcmpError(b, 0, 3, 3, 0, ourDatagram(6, PEER, tcp))), { protocol: 1 }),
    ipv4Frame(MAC_US, icmpMessage((b) => emitIcmpError(b, 0, 11, 0, 0, ourDatagram(1, FAR, icmpMessage((c) => emitEcho(c, 0, 8, ECHO_ID, 2, new Uint8Array(8)))))), { protocol: 1, src: GW }),
    frag(0, 48, true),
    frag(48, 96, true),
    frag(96, 100, false),
    withOptions([1, 1, 68, 8, 5, 0, 0, 0, 0, 0, 0, 0]), // NOP NOP timestamp
    withOptions([131, 7, 4, 10, 77, 0, 9, 0]), // loose source route, not exhausted
    ipv4Frame(BCAST_MAC, udp(20, 1), { dst: 0xffffffff }),
    ipv4Frame(BCAST_MAC, udp(20, 1), { dst: SUBNET_BCAST }),
    ipv4Frame(BCAST_MAC, udp(20, 1)), // unicast IP in a link-layer broadcast
    ipv4Frame(MAC_US, udp(0), {}, 60), // padded minimum frame
    vlan,
    ipv6,
  ];
}

/** Offsets worth setting to edge values, with the values (frames are Ethernet + IPv4/ARP). */
const FIELD_EDITS: { at: number; width: 1 | 2 | 4 | 6; values: number[] | Uint8Array[] }[] = [
  { at: 0, width: 6, values: [MAC_US, BCAST_MAC, MCAST_MAC, MAC_OTHER] },
  { at: 12, width: 2, values: [0x0800, 0x0806, 0x8100, 0x86dd, 0x0000, 0x05ff] },
  // IPv4 (the frame's payload at 14)
  { at: 14, width: 1, values: [0x45, 0x46, 0x47, 0x4f, 0x44, 0x40, 0x55, 0x65] },
  { at: 16, width: 2, values: [0, 19, 20, 21, 28, 60, 100, 0xffff] },
  { at: 20, width: 2, values: [0x2000, 0x4000, 0x0001, 0x2006, 0x000c, 0x1fff, 0x8000, 0x3fff] },
  { at: 22, width: 1, values: [0, 1, 255] },
  { at: 23, width: 1, values: [1, 6, 17, 0, 99, 255] },
  { at: 26, width: 4, values: [PEER, US, 0, 0xffffffff, 0x7f000001, 0xe0000001, SUBNET_BCAST, FAR, 0x00000005] },
  { at: 30, width: 4, values: [US, 0xffffffff, SUBNET_BCAST, 0x0a4d0000, OTHER, 0, 0xe0000001, 0x7f000001] },
  // ICMP type/code (header without options)
  { at: 34, width: 1, values: [0, 3, 4, 5, 8, 11, 12, 13, 14, 15, 17, 42] },
  { at: 35, width: 1, values: [0, 1, 2, 3, 4, 13, 255] },
  // ICMP error quote: the quoted header's version/IHL, total length, protocol, src
  { at: 42, width: 1, values: [0x45, 0x4f, 0x40, 0x65] },
  { at: 44, width: 2, values: [0, 27, 28, 0xffff] },
  { at: 51, width: 1, values: [1, 6, 17, 99] },
  { at: 54, width: 4, values: [US, PEER, 0x7f000001] },
  // ARP (payload at 14): hlen/plen, op, sender and target addresses
  { at: 18, width: 1, values: [6, 4, 0, 255] },
  { at: 20, width: 2, values: [0, 1, 2, 3] },
  { at: 28, width: 4, values: [PEER, US, 0, 0xffffffff, 0xe0000001, OTHER] },
  { at: 38, width: 4, values: [US, OTHER, PEER, 0] },
];

function put(frame: Uint8Array, at: number, width: number, v: number | Uint8Array): void {
  if (at + width > frame.length) return;
  if (typeof v !== 'number') {
    frame.set(v, at);
    return;
  }
  for (let i = width - 1; i >= 0; i--) {
    frame[at + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

/** Re-fix the ICMP and IPv4 header checksums where the mutated frame still has room for them. */
function fixChecksums(f: Uint8Array): void {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return;
  const hl = (f[14]! & 0x0f) * 4;
  if (hl < 20 || 14 + hl > f.length) return;
  const total = (f[16]! << 8) | f[17]!;
  if (f[23] === 1 && total >= hl + 8 && 14 + total <= f.length) {
    const m = f.subarray(14 + hl, 14 + total);
    m[2] = 0;
    m[3] = 0;
    const c = finish(checksum(m));
    m[2] = c >>> 8;
    m[3] = c & 0xff;
  }
  refreshIpv4Checksum(f, 14, hl);
}

function mutate(rng: SeededRng, seedFrame: Uint8Array): Uint8Array {
  let f = seedFrame.slice();
  const ops = rng.nextInt(1, 4);
  for (let k = 0; k < ops; k++) {
    const r = rng.nextInt(0, 10);
    if (r < 2 && f.length > 0) {
      const i = rng.nextInt(0, f.length);
      f[i] = f[i]! ^ (1 << rng.nextInt(0, 8));
    } else if (r < 3 && f.length > 0) {
      f[rng.nextInt(0, f.length)] = rng.nextU32() & 0xff;
    } else if (r < 8) {
      const e = FIELD_EDITS[rng.nextInt(0, FIELD_EDITS.length)]!;
      put(f, e.at, e.width, e.values[rng.nextInt(0, e.values.length)]!);
    } else if (r < 9) {
      f = f.slice(0, rng.nextInt(0, f.length + 1));
    } else {
      const g = new Uint8Array(f.length + rng.nextInt(1, 100));
      g.set(f);
      for (let i = f.length; i < g.length; i++) g[i] = rng.nextU32() & 0xff;
      f = g;
    }
  }
  if (rng.nextFloat() < 0.6) fixChecksums(f);
  return f;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** What the stack sent must be well formed, from us, and never an ICMP error it must not send. */
function checkSent(frame: Uint8Array, ifc: EthernetInterface): string | undefined {
  const eth = EthernetFrame.parse(frame);
  if (eth instanceof ParseError) return `unparsable Ethernet: ${eth.reason}`;
  if (!eth.srcEquals(MAC_US)) return 'Ethernet source is not our MAC';
  if (eth.ethertype === EtherType.ARP) {
    const a = ArpPacket.parse(eth.payload);
    if (a instanceof ParseError) return `bad ARP: ${a.reason}`;
    if (a.senderIp !== US) return 'ARP from another address';
    return undefined;
  }
  if (eth.ethertype !== EtherType.IPv4) return `EtherType ${eth.ethertype}`;
  const p = Ipv4Packet.parse(eth.payload);
  if (typeof p === 'string') return `bad IPv4: ${p}`;
  if (p.src !== US) return `IPv4 source ${p.src}`;
  const dst = p.dst;
  if ((dst >>> 24 === 127 || dst >>> 28 >= 0xe || dst >>> 24 === 0) && dst !== 0xffffffff) return `IPv4 to martian ${dst}`;
  if (!eth.dstIsBroadcast() && isMulticastMac(eth.bytes, 0)) return 'unicast IP to a multicast MAC';
  // Fragments (a spoofed frag-needed may have lowered the path MTU to 68) are checked by
  // the IPv4 header alone; an ICMP message is checked when it travels whole.
  if (p.protocol !== 1 || p.isFragment) return undefined;
  const m = IcmpPacket.parse(p.payload);
  if (typeof m === 'string') return `bad ICMP: ${m}`;
  if (!isIcmpError(m.type)) return undefined;
  if (dst === 0xffffffff || dst === SUBNET_BCAST) return 'ICMP error to a broadcast address';
  // The quote is the offending datagram's header and at least 8 octets of its data, or
  // all of it when shorter (a runt UDP datagram, say), and at most what fits in 576.
  const quote = m.data;
  const qhl = ((quote[0] ?? 0) & 0x0f) * 4;
  const qtotal = ((quote[2] ?? 0) << 8) | (quote[3] ?? 0);
  if (quote.length < 20 || quote[0]! >>> 4 !== 4 || qhl < 20 || qhl > quote.length) return 'ICMP error with a bad quote';
  if (quote.length < Math.min(qtotal, qhl + 8) || quote.length > Math.min(qtotal, 548)) return `ICMP error quoting ${quote.length} of ${qtotal} bytes`;
  const qsrc = readU32(quote, 12);
  const qdst = readU32(quote, 16);
  if (qsrc !== dst) return 'ICMP error not sent to the source of the datagram it quotes';
  if ((readU16(quote, 6) & 0x1fff) !== 0) return 'ICMP error about a non-initial fragment';
  if (qdst === 0xffffffff || qdst === SUBNET_BCAST || qdst >>> 28 === 0xe) return 'ICMP error about a broadcast/multicast datagram';
  if (quote[9] === 1 && !isIcmpQuery(quote[qhl] ?? 255)) return 'ICMP error about an ICMP error';
  void ifc;
  return undefined;
}

function runFuzz(seed: number) {
  const rng = new SeededRng(seed);
  const clock = new ManualClock(0);
  const link = new FakeLink();
  const ifc = new EthernetInterface({ link, mac: MAC_US, clock });
  let ipRef: Ipv4Layer | undefined;
  const tcp = new Transport(6, () => ipRef!);
  const udpT = new Transport(17, () => ipRef!);
  const ip = new Ipv4Layer({ device: ifc, clock, rng: new SeededRng(seed ^ 1), addr: US, prefixLen: 24, gateway: GW });
  ipRef = ip;
  ip.register(6, tcp);
  ip.register(17, udpT);
  let echoReplies = 0;
  ip.registerEcho(ECHO_ID, { reply: () => echoReplies++, error: () => {} });
  ifc.start();

  const seeds = corpus();
  let injected = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    const f = mutate(rng, seeds[it % seeds.length]!);
    try {
      injected++;
      link.receiver!.receive(f);
      if (it % 8 === 7) link.receiver!.batchEnd!();
      if (it % 40 === 39) clock.advance(rng.nextInt(0, 4000));
    } catch (e) {
      throw new Error(`seed ${seed} iteration ${it}: ${(e as Error).stack}\nframe ${hex(f)}\nreplay: TCPIP_FUZZ_SEED=${seed}`);
    }
  }
  clock.advance(120_000); // every reassembly times out, ARP entries age
  return { clock, link, ifc, ip, tcp, udp: udpT, injected, echoReplies };
}

describe('fuzz: mutated frames through EthernetInterface -> Ipv4Layer', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: never throws, accounts for every frame, answers only with well-formed frames`, () => {
      const { clock, link, ifc, ip, tcp, udp, injected } = runFuzz(seed);
      const e = ifc.counters;
      const arp = ifc.arp.counters;
      const { ip: s, icmp } = ip.stats();
      const ctx = `seed ${seed} (replay: TCPIP_FUZZ_SEED=${seed})`;

      // Ethernet: every frame ends in exactly one counter.
      expect(e.rxFrames, ctx).toBe(injected);
      expect(e.rxIpv4 + e.rxArp + e.rxDropMalformed + e.rxDropNotForUs + e.rxDropBadEthertype + e.rxDropVlan + e.rxDropNoReceiver + e.rxDropDown, ctx).toBe(injected);
      // ARP: every packet handed to the cache is bad, a request or a reply.
      expect(arp.badPackets + arp.requestsReceived + arp.repliesReceived, ctx).toBe(e.rxArp);
      // IPv4: every datagram from the interface is received once, and ends in exactly one
      // counter (a reassembled datagram once more).
      expect(s.InReceives, ctx).toBe(e.rxIpv4);
      const ends = s.InHdrErrors! + s.InTruncatedPkts! + s.InAddrErrors! + s.InDiscards! + s.InUnknownProtos! + s.InDelivers! + s.ReasmReqds!;
      expect(ends, ctx).toBe(s.InReceives! + s.ReasmOKs!);
      expect(s.InDelivers, ctx).toBe(icmp.InMsgs! + tcp.calls + udp.calls);
      // ICMP: a message is malformed (InErrors) or counted under its type.
      const typed = icmp.InEchos! + icmp.InEchoReps! + icmp.InDestUnreachs! + icmp.InTimeExcds! + icmp.InParmProbs! + icmp.InSrcQuenchs! + icmp.InRedirects! + icmp.InTimestamps! + icmp.InTimestampReps! + icmp.InUnknownTypes!;
      expect(typed, ctx).toBeLessThanOrEqual(icmp.InMsgs!);
      expect(icmp.InMsgs! - typed, ctx).toBeLessThanOrEqual(icmp.InErrors!);

      // The mutations reached the deep paths.
      const reached: Record<string, number> = {
        rxDropNotForUs: e.rxDropNotForUs,
        rxDropBadEthertype: e.rxDropBadEthertype,
        rxDropVlan: e.rxDropVlan,
        rxDropMalformed: e.rxDropMalformed,
        arpBad: arp.badPackets,
        arpRepliesSent: arp.repliesSent,
        InHdrErrors: s.InHdrErrors!,
        InCsumErrors: s.InCsumErrors!,
        InTruncatedPkts: s.InTruncatedPkts!,
        InAddrErrors: s.InAddrErrors!,
        InDiscards: s.InDiscards!,
        InUnknownProtos: s.InUnknownProtos!,
        ReasmOKs: s.ReasmOKs!,
        ReasmFails: s.ReasmFails!,
        InEchos: icmp.InEchos!,
        OutEchoReps: icmp.OutEchoReps!,
        InDestUnreachs: icmp.InDestUnreachs!,
        InTimeExcds: icmp.InTimeExcds!,
        InUnknownTypes: icmp.InUnknownTypes!,
        OutDestUnreachs: icmp.OutDestUnreachs!,
        OutParmProbs: icmp.OutParmProbs!,
        transportErrors: tcp.errors + udp.errors,
      };
      for (const [k, v] of Object.entries(reached)) expect([k, v > 0], ctx).toEqual([k, true]);

      // Everything sent in answer is well formed and allowed.
      for (const f of link.sent) {
        const why = checkSent(f, ifc);
        if (why !== undefined) throw new Error(`${ctx}: sent ${why}: ${hex(f)}`);
      }

      // Bounded memory, and nothing left armed after close().
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const reasm = (ip as any).reasm as { bytesHeld: number; inProgress: number };
      expect(reasm.inProgress, ctx).toBe(0);
      expect(reasm.bytesHeld, ctx).toBe(0);
      expect(ifc.arp.size, ctx).toBeLessThanOrEqual(512);
      expect(ifc.arp.queued, ctx).toBeLessThanOrEqual(256);
      ip.close();
      ifc.close();
      expect(clock.nextDeadline(), ctx).toBeUndefined();
    });
  }
});

describe('fuzz: fragments of one datagram in any order, duplicated and overlapping', () => {
  it('a datagram is delivered exactly as sent, or (after a partial overlap) not at all; never altered', () => {
    const rng = new SeededRng(SEEDS[0]!);
    let delivered = 0;
    let withOverlap = 0;
    for (let round = 0; round < 300; round++) {
      const clock = new ManualClock(0);
      const link = new FakeLink();
      const ifc = new EthernetInterface({ link, mac: MAC_US, clock });
      const ip = new Ipv4Layer({ device: ifc, clock, rng: new SeededRng(round), addr: US, prefixLen: 24 });
      const got: Uint8Array[] = [];
      ip.register(17, { receive: (_i, p) => (got.push(p.slice()), true), receiveIcmpError: () => {} });
      const payload = Uint8Array.from({ length: rng.nextInt(9, 3000) }, () => rng.nextU32() & 0xff);
      // Cut points on 8-byte boundaries; some pieces re-cut across others (overlaps carry the same bytes).
      const cuts = new Set<number>([0, payload.length]);
      const n = rng.nextInt(1, 12);
      for (let i = 0; i < n; i++) cuts.add(8 * rng.nextInt(1, Math.ceil(payload.length / 8)));
      const points = [...cuts].filter((c) => c <= payload.length).sort((a, b) => a - b);
      const pieces: [number, number][] = [];
      for (let i = 0; i + 1 < points.length; i++) pieces.push([points[i]!, points[i + 1]!]);
      let overlap = false;
      if (rng.nextFloat() < 0.3 && pieces.length > 1) {
        const a = pieces[rng.nextInt(0, pieces.length - 1)]!;
        const end = Math.min(payload.length, a[1] + 8);
        if (end > a[1]) {
          pieces.push([a[0], end]); // spans a boundary: a partial overlap
          overlap = true;
        }
      }
      if (rng.nextFloat() < 0.5) pieces.push(pieces[rng.nextInt(0, pieces.length)]!); // exact duplicate
      for (let i = pieces.length - 1; i > 0; i--) {
        const j = rng.nextInt(0, i + 1);
        [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
      }
      for (const [off, end] of pieces) {
        const mf = end < payload.length;
        if (!mf && off === 0) continue; // not a fragment at all; covered elsewhere
        link.receiver!.receive(ipv4Frame(MAC_US, payload.subarray(off, end), { id: round, moreFragments: mf, fragmentOffset: off }));
      }
      expect(got.length).toBeLessThanOrEqual(1);
      if (got.length === 1) {
        expect(got[0]).toEqual(payload);
        delivered++;
      } else {
        // Only a partial overlap (or a datagram that was never fragmented) may stop delivery.
        expect(overlap || pieces.every(([o, e]) => o === 0 && e === payload.length)).toBe(true);
      }
      if (overlap) withOverlap++;
      clock.advance(60_000);
      expect(ip.stats().ip.ReasmOKs).toBe(got.length);
      ip.close();
      ifc.close();
      expect(clock.nextDeadline()).toBeUndefined();
    }
    expect(delivered).toBeGreaterThan(150);
    expect(withOverlap).toBeGreaterThan(30);
  });
});
