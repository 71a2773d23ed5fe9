import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { ErrnoName } from '../../src/core/errno.js';
import type { Logger } from '../../src/core/log.js';
import { ARP_LEN, ArpOp, ArpPacket, emitArp } from '../../src/link/arp.js';
import type { Ipv4Receiver } from '../../src/link/device.js';
import { EtherType, EthernetFrame, emitEthernetHeader } from '../../src/link/ethernet.js';
import { EthernetInterface, type EthernetInterfaceOptions } from '../../src/link/interface.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import { formatMac } from '../../src/link/mac.js';
import { memoryLinkPair } from '../../src/link/memory.js';
import { PcapWriter, readPcap } from '../../src/link/pcap.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

const MAC_A = hex('020000000001');
const MAC_B = hex('020000000002');
const IP_A = 0x0a4d0001;
const IP_B = 0x0a4d0002;
const ip2 = (): number => 0x0a4d0009;

/** Records what the interface hands up. */
class FakeIpv4 implements Ipv4Receiver {
  got: { t: number; data: number[] }[] = [];
  /** The linkBroadcast flag of each received datagram, in order. */
  linkBroadcast: boolean[] = [];
  failed: { t: number; nextHop: number; data: number[] }[] = [];
  batches = 0;
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  receive(d: Uint8Array, linkBroadcast?: boolean): void {
    this.got.push({ t: this.clock.now(), data: [...d] });
    this.linkBroadcast.push(linkBroadcast === true);
  }
  resolutionFailed(nextHop: number, d: Uint8Array): void {
    this.failed.push({ t: this.clock.now(), nextHop, data: [...d] });
  }
  batchEnd(): void {
    this.batches++;
  }
}

/** A Link under the test's control: records sent frames, lets the test inject received ones. */
class FakeLink implements Link {
  readonly mtu = 1500;
  sent: Uint8Array[] = [];
  receiver: LinkReceiver | undefined;
  accept = true;
  send(f: Uint8Array): boolean {
    if (!this.accept) return false;
    this.sent.push(f.slice());
    return true;
  }
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  close(): void {}
  inject(f: Uint8Array): void {
    this.receiver!.receive(f);
  }
}

/** IP sends `bytes` through the zero-copy path: write at headroom, then sendIpv4(). */
function sendVia(ifc: EthernetInterface, nextHop: number, bytes: number[]): ErrnoName | undefined {
  ifc.txFrame.set(bytes, ifc.headroom);
  return ifc.sendIpv4(nextHop, bytes.length);
}

function pair(delayMs = 1, extra: Partial<EthernetInterfaceOptions> = {}) {
  const clock = new ManualClock(0);
  const [la, lb] = memoryLinkPair(clock, { delayMs });
  const a = new EthernetInterface({ link: la, mac: MAC_A, clock, ...extra });
  const b = new EthernetInterface({ link: lb, mac: MAC_B, clock });
  a.setIpv4Address(IP_A);
  b.setIpv4Address(IP_B);
  const ipA = new FakeIpv4(clock);
  const ipB = new FakeIpv4(clock);
  a.setIpv4Receiver(ipA);
  b.setIpv4Receiver(ipB);
  return { clock, a, b, ipA, ipB };
}

function single(extra: Partial<EthernetInterfaceOptions> = {}) {
  const clock = new ManualClock(0);
  const link = new FakeLink();
  const ifc = new EthernetInterface({ link, mac: MAC_A, clock, ...extra });
  ifc.setIpv4Address(IP_A);
  const ip = new FakeIpv4(clock);
  ifc.setIpv4Receiver(ip);
  return { clock, link, ifc, ip };
}

function arpFrame(ethDst: Uint8Array, op: number, sha: Uint8Array, spa: number, tha: Uint8Array | undefined, tpa: number, len = 14 + ARP_LEN) {
  const f = new Uint8Array(len);
  emitEthernetHeader(f, 0, ethDst, sha, EtherType.ARP);
  emitArp(f, 14, op, sha, spa, tha, tpa);
  return f;
}

function ipFrame(dst: Uint8Array, payload: number[], type: number = EtherType.IPv4): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  emitEthernetHeader(f, 0, dst, MAC_B, type);
  f.set(payload, 14);
  return f;
}

describe('EthernetInterface over a memory link pair', () => {
  it('resolves with ARP, then delivers the queued datagram; the peer learned us from the request', () => {
    const { clock, a, b, ipB, ipA } = pair(1);
    expect(sendVia(a, IP_B, [0x45, 1, 2, 3])).toBeUndefined();
    expect(a.counters.txQueued).toBe(1);
    clock.advance(10);
    // request t=0 arrives t=1, reply arrives t=2, the datagram is sent at 2 and arrives at 3
    expect(ipB.got).toEqual([{ t: 3, data: [0x45, 1, 2, 3] }]);
    expect(a.arp.counters).toMatchObject({ requestsSent: 1, repliesReceived: 1 });
    expect(b.arp.counters).toMatchObject({ requestsReceived: 1, repliesSent: 1, requestsSent: 0 });
    // B answers without ARP: it learned A from the request (RFC 826 merge)
    expect(sendVia(b, IP_A, [0x45, 9])).toBeUndefined();
    clock.advance(10);
    expect(ipA.got).toEqual([{ t: 11, data: [0x45, 9] }]);
    expect(b.arp.counters.requestsSent).toBe(0);
    // A now sends directly: no second request
    sendVia(a, IP_B, [0x45, 4]);
    clock.advance(10);
    expect(ipB.got.at(-1)).toEqual({ t: 21, data: [0x45, 4] });
    expect(a.arp.counters.requestsSent).toBe(1);
    expect(ipB.batches).toBeGreaterThan(0);
  });

  it('sendIpv4Copy sends a copy of an arbitrary datagram', () => {
    const { clock, a, ipB } = pair(0);
    const d = new Uint8Array([0x45, 7, 7]);
    a.sendIpv4Copy(IP_B, d);
    d.fill(0);
    clock.advance(5);
    expect(ipB.got.map((g) => g.data)).toEqual([[0x45, 7, 7]]);
  });

  it('keeps the latest queuePerNeighbour datagrams while resolving, dropping the oldest (counted)', () => {
    const { clock, a, ipB } = pair(1, { arpOptions: { queuePerNeighbour: 3 } });
    for (let i = 1; i <= 5; i++) sendVia(a, IP_B, [0x45, i]);
    clock.advance(10);
    expect(ipB.got.map((g) => g.data[1])).toEqual([3, 4, 5]);
    expect(a.arp.counters.queueDrops).toBe(2);
    expect(a.stats().arp.queueDrops).toBe(2);
  });

  it('by default keeps every fragment of a 64 KB datagram (45 at MTU 1500) while resolving', () => {
    const { clock, a, ipB } = pair(1);
    for (let i = 0; i < 45; i++) a.sendIpv4Copy(IP_B, Uint8Array.from([0x45, i, ...new Array<number>(1478).fill(i)]));
    expect(a.arp.queued).toBe(45);
    clock.advance(10);
    expect(ipB.got.map((g) => g.data[1])).toEqual([...Array(45).keys()]);
    expect(a.arp.counters.queueDrops).toBe(0);
    expect(a.arp.queued).toBe(0);
  });

  it('bounds the resolution queue in bytes over all neighbours, dropping the oldest', () => {
    const { clock, a, ipB } = pair(1, { arpOptions: { queueBytes: 3000 } });
    for (let i = 1; i <= 4; i++) a.sendIpv4Copy(IP_B, Uint8Array.from([0x45, i, ...new Array<number>(998).fill(0)]));
    expect(a.arp.queued).toBe(3);
    expect(a.arp.counters.queueDrops).toBe(1);
    // Larger than the whole byte budget: refused at once.
    expect(a.sendIpv4Copy(ip2(), new Uint8Array(3001))).toBe('ENOBUFS');
    expect(a.counters.txDropNoBuffer).toBe(1);
    clock.advance(10);
    expect(ipB.got.map((g) => g.data[1])).toEqual([2, 3, 4]);
  });

  it('failed resolution: 3 requests 1 s apart, EHOSTUNREACH for every queued datagram at 3 s', () => {
    const { clock, link, ifc, ip } = single();
    sendVia(ifc, 0x0a4d0063, [0x45, 1]);
    clock.advance(200);
    sendVia(ifc, 0x0a4d0063, [0x45, 2]);
    clock.advance(2799);
    expect(ip.failed).toEqual([]);
    clock.advance(1);
    expect(ip.failed).toEqual([
      { t: 3000, nextHop: 0x0a4d0063, data: [0x45, 1] },
      { t: 3000, nextHop: 0x0a4d0063, data: [0x45, 2] },
    ]);
    expect(link.sent.length).toBe(3);
    for (const f of link.sent) {
      const p = ArpPacket.parse((EthernetFrame.parse(f) as EthernetFrame).payload) as ArpPacket;
      expect([p.op, p.targetIp]).toEqual([ArpOp.REQUEST, 0x0a4d0063]);
    }
    expect(sendVia(ifc, 0x0a4d0063, [0x45, 3])).toBe('EHOSTUNREACH');
    expect(ifc.counters.txDropUnreachable).toBe(1);
  });

  it('refreshes a stale entry with a unicast request while still sending', () => {
    const { clock, a, ipB } = pair(1);
    sendVia(a, IP_B, [0x45, 1]);
    clock.advance(40_000);
    expect(a.arp.state(IP_B)).toBe('stale');
    sendVia(a, IP_B, [0x45, 2]);
    clock.advance(10);
    expect(ipB.got.map((g) => g.data[1])).toEqual([1, 2]);
    expect(a.arp.counters.probesSent).toBe(1);
    expect(a.arp.state(IP_B)).toBe('reachable');
  });
});

describe('EthernetInterface framing', () => {
  it('writes the golden Ethernet header in front of the datagram', () => {
    const { link, ifc } = single();
    link.inject(arpFrame(MAC_A, ArpOp.REPLY, MAC_B, IP_B, MAC_A, IP_A)); // learn B
    link.sent.length = 0;
    sendVia(ifc, IP_B, [0x45, 0x00, 0xaa]);
    expect(link.sent).toEqual([hex('020000000002 020000000001 0800 4500aa')]);
    expect(ifc.counters).toMatchObject({ txFrames: 1, txBytes: 17 });
  });

  it('sends 255.255.255.255 to ff:ff:ff:ff:ff:ff and multicast to 01:00:5e:..., without ARP', () => {
    const { link, ifc } = single();
    sendVia(ifc, 0xffffffff, [0x45]);
    sendVia(ifc, 0xe0000001, [0x45]);
    expect(link.sent.map((f) => formatMac(f, 0))).toEqual(['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01']);
    expect(ifc.arp.counters.requestsSent).toBe(0);
  });

  it('answers ARP requests for our address with the golden reply', () => {
    const { link, ifc } = single();
    link.inject(arpFrame(hex('ffffffffffff'), ArpOp.REQUEST, MAC_B, IP_B, undefined, IP_A, 60)); // padded frame
    expect(link.sent).toEqual([
      hex('020000000002 020000000001 0806 0001 0800 06 04 0002 020000000001 0a4d0001 020000000002 0a4d0002'),
    ]);
    expect(ifc.counters.rxArp).toBe(1);
  });

  it('start() sends a gratuitous ARP; a later address change announces again', () => {
    const { link, ifc } = single();
    expect(link.sent.length).toBe(0);
    ifc.start();
    expect(link.sent).toEqual([
      hex('ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a4d0001 000000000000 0a4d0001'),
    ]);
    ifc.setIpv4Address(0x0a4d0009);
    const p = ArpPacket.parse(link.sent[1]!.subarray(14)) as ArpPacket;
    expect([p.senderIp, p.targetIp]).toEqual([0x0a4d0009, 0x0a4d0009]);
  });

  it('hands IPv4 for our MAC or broadcast up (padding included) and forwards batchEnd', () => {
    const { link, ifc, ip } = single();
    link.inject(ipFrame(MAC_A, [0x45, 1]));
    link.inject(ipFrame(hex('ffffffffffff'), [0x45, 2]));
    link.receiver!.batchEnd!();
    expect(ip.got.map((g) => g.data)).toEqual([
      [0x45, 1],
      [0x45, 2],
    ]);
    expect(ip.batches).toBe(1);
    expect(ifc.counters).toMatchObject({ rxFrames: 2, rxBytes: 32, rxIpv4: 2 });
    // RFC 1122 3.2.2 needs to know: the broadcast frame is flagged, the unicast one not.
    expect(ip.linkBroadcast).toEqual([false, true]);
  });

  it('counts and drops: not for us, VLAN, IPv6, 802.3 length, runts, bad ARP — never throws', () => {
    const { link, ifc, ip } = single();
    const frames = [
      ipFrame(MAC_B, [0x45]), // another host's unicast
      ipFrame(hex('01005e000001'), [0x45]), // multicast we did not join
      ipFrame(MAC_A, [0, 1, 0x08, 0], EtherType.VLAN),
      ipFrame(MAC_A, [0x60], EtherType.IPv6),
      ipFrame(MAC_A, [0x42], 0x0100),
      new Uint8Array(13),
      new Uint8Array(0),
      arpFrame(MAC_A, ArpOp.REPLY, MAC_B, IP_B, MAC_A, IP_A).subarray(0, 30), // short ARP
    ];
    const badHlen = arpFrame(MAC_A, ArpOp.REPLY, MAC_B, IP_B, MAC_A, IP_A);
    badHlen[14 + 4] = 5;
    frames.push(badHlen);
    for (const f of frames) expect(() => link.inject(f)).not.toThrow();
    expect(ip.got).toEqual([]);
    const s = ifc.stats();
    expect(s).toMatchObject({
      rxFrames: 9,
      rxDropNotForUs: 2,
      rxDropVlan: 1,
      rxDropBadEthertype: 2,
      rxDropMalformed: 2,
      rxArp: 2,
    });
    expect(s.arp.badPackets).toBe(2);
    expect(ifc.arp.size).toBe(0);
  });

  it('promiscuous mode accepts frames for other MACs, flagged as not unicast to us', () => {
    const { link, ip, ifc } = single({ promiscuous: true });
    link.inject(ipFrame(MAC_B, [0x45, 3]));
    link.inject(ipFrame(hex('01005e000001'), [0x45, 4]));
    link.inject(ipFrame(MAC_A, [0x45, 5]));
    expect(ip.got.map((g) => g.data)).toEqual([[0x45, 3], [0x45, 4], [0x45, 5]]);
    expect(ip.linkBroadcast).toEqual([true, true, false]);
    // ARP addressed to another host's MAC is not ours to learn from or answer.
    link.inject(arpFrame(MAC_B, ArpOp.REQUEST, MAC_B, IP_B, undefined, IP_A));
    expect(link.sent).toHaveLength(0);
    expect(ifc.arp.size).toBe(0);
    expect(ifc.counters.rxDropNotForUs).toBe(1);
  });

  it('close(): sends fail with ENETDOWN, late frames are counted and dropped, no timer stays armed', () => {
    const { clock, link, ifc, ip } = single();
    ifc.start();
    expect(sendVia(ifc, 0x0a4d0077, [0x45, 1])).toBeUndefined(); // queued: ARP timer armed
    expect(clock.nextDeadline()).toBeDefined();
    ifc.close();
    ifc.close();
    expect(clock.nextDeadline()).toBeUndefined();
    const sent = link.sent.length;
    expect(sendVia(ifc, 0x0a4d0077, [0x45, 2])).toBe('ENETDOWN');
    expect(ifc.sendIpv4Copy(0xffffffff, Uint8Array.of(0x45, 3))).toBe('ENETDOWN');
    link.inject(ipFrame(MAC_A, [0x45, 4]));
    link.inject(arpFrame(MAC_A, ArpOp.REQUEST, MAC_B, IP_B, undefined, IP_A));
    ifc.start();
    expect(link.sent.length).toBe(sent);
    expect(ip.got).toHaveLength(0);
    expect(ifc.counters).toMatchObject({ txDropDown: 2, rxDropDown: 2, rxFrames: 2 });
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('counts IPv4 frames when no receiver is installed', () => {
    const clock = new ManualClock(0);
    const link = new FakeLink();
    const ifc = new EthernetInterface({ link, mac: MAC_A, clock });
    link.inject(ipFrame(MAC_A, [0x45]));
    expect(ifc.counters.rxDropNoReceiver).toBe(1);
  });

  it('reports ENOBUFS when the link refuses a frame, EMSGSIZE beyond 65535', () => {
    const { link, ifc } = single();
    link.accept = false;
    expect(sendVia(ifc, 0xffffffff, [0x45])).toBe('ENOBUFS');
    expect(ifc.counters.txDropLink).toBe(1);
    expect(ifc.sendIpv4Copy(0xffffffff, new Uint8Array(65536))).toBe('EMSGSIZE');
    expect(ifc.txFrame.length).toBeGreaterThanOrEqual(14 + 65535);
    expect(ifc.headroom).toBe(14);
    expect(ifc.mtu).toBe(1500);
  });

  it('writes every frame in and out to the pcap writer', () => {
    const clock = new ManualClock(0);
    const pcap = new PcapWriter({ clock });
    const link = new FakeLink();
    const ifc = new EthernetInterface({ link, mac: MAC_A, clock, pcap });
    ifc.setIpv4Address(IP_A);
    ifc.start(); // out: gratuitous ARP
    clock.advance(5);
    const req = arpFrame(hex('ffffffffffff'), ArpOp.REQUEST, MAC_B, IP_B, undefined, IP_A);
    link.inject(req); // in: request; out: reply
    link.inject(ipFrame(MAC_B, [0x45])); // in, dropped (still captured)
    const recs = readPcap(pcap.toBuffer()).records;
    expect(recs.map((r) => r.timeMs)).toEqual([0, 5, 5, 5]);
    expect(recs[0]!.data).toEqual(link.sent[0]);
    expect(recs[1]!.data).toEqual(req);
    expect(recs[2]!.data).toEqual(link.sent[1]);
    expect(recs[3]!.data.length).toBe(15);
  });

  it('logs drop reasons through the Logger', () => {
    const lines: string[] = [];
    const logger: Logger = { enabled: () => true, log: (layer, m) => lines.push(`${layer}: ${m}`) };
    const { link } = single({ logger });
    link.inject(ipFrame(MAC_A, [0x60], EtherType.IPv6));
    link.inject(new Uint8Array(5));
    expect(lines).toEqual([
      'eth: rx drop (rxDropBadEthertype): EtherType not handled from 02:00:00:00:00:02 to 02:00:00:00:00:01 type 0x86dd, 15 bytes',
      'eth: rx drop (rxDropMalformed): frame shorter than the Ethernet header, 5 bytes',
    ]);
  });
});
