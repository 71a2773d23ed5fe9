/**
 * An Ethernet interface: framing and ARP between a Link (TAP, memory pair, impaired link)
 * and IPv4 above it (the NetDevice contract in device.ts).
 *
 * Transmit: IPv4 builds its datagram in place in `txFrame` at `headroom` (14); sendIpv4()
 * writes the Ethernet header in front and hands the frame to the link, or leaves a COPY
 * with the ARP cache while the next hop resolves.
 * Receive: frames for our MAC or broadcast (anything, when promiscuous) are dispatched by
 * EtherType: IPv4 up to the Ipv4Receiver (flagged when not unicast to our MAC, for RFC 1122
 * 3.2.2 and 3.3.6), ARP to the cache, everything else counted and dropped. Every frame in
 * and out also goes to the optional pcap writer.
 */
import type { Clock } from '../core/clock.js';
import { writeU16 } from '../core/bytes.js';
import { counters, type Counters } from '../core/counters.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ipToString } from '../core/ipaddr.js';
import { ARP_COUNTERS, ArpCache, type ArpHost, type ArpOptions } from './arp.js';
import type { Ipv4Receiver, NetDevice } from './device.js';
import { ETH_HEADER_LEN, ETH_OFF_DST, ETH_OFF_SRC, ETH_OFF_TYPE, EtherType, ethertypeOf } from './ethernet.js';
import type { Link, LinkReceiver } from './link.js';
import { MAC_LEN, copyMac, formatMac, isBroadcastMac, macEquals, writeBroadcastMac, writeIpv4MulticastMac } from './mac.js';
import type { PcapWriter } from './pcap.js';

export interface EthernetInterfaceOptions {
  link: Link;
  mac: Uint8Array;
  clock: Clock;
  logger?: Logger;
  pcap?: PcapWriter;
  arpOptions?: ArpOptions;
  /** Accept frames for any destination MAC (default false). */
  promiscuous?: boolean;
}

export const INTERFACE_COUNTERS = [
  'rxFrames',
  'rxBytes',
  'rxIpv4',
  'rxArp',
  'rxDropMalformed',
  'rxDropNotForUs',
  'rxDropBadEthertype',
  'rxDropVlan',
  'rxDropNoReceiver',
  'rxDropDown',
  'txFrames',
  'txBytes',
  'txQueued',
  'txDropLink',
  'txDropTooBig',
  'txDropUnreachable',
  'txDropNoBuffer',
  'txDropDown',
] as const;

type InterfaceCounter = (typeof INTERFACE_COUNTERS)[number];

export type InterfaceStats = Counters<InterfaceCounter> & {
  arp: Counters<(typeof ARP_COUNTERS)[number]>;
};

const IPV4_BROADCAST = 0xffffffff;
/** Largest IPv4 datagram (RFC 791 total length is 16 bits). */
const MAX_DATAGRAM = 65535;
/** Lengths remembered by PrefixViews (a power of two). */
const PREFIX_VIEW_SLOTS = 16;

export class EthernetInterface implements NetDevice, LinkReceiver, ArpHost {
  readonly mtu: number;
  readonly mac: Uint8Array;
  readonly headroom = ETH_HEADER_LEN;
  readonly txFrame = new Uint8Array(ETH_HEADER_LEN + MAX_DATAGRAM);
  readonly arp: ArpCache;
  readonly counters = counters(INTERFACE_COUNTERS);
  /** Frames built outside txFrame: sendIpv4Copy() and datagrams released by ARP. */
  private readonly copyFrame = new Uint8Array(ETH_HEADER_LEN + MAX_DATAGRAM);
  private readonly link: Link;
  private readonly logger: Logger;
  private readonly pcap: PcapWriter | undefined;
  private readonly promiscuous: boolean;
  private readonly txViews: PrefixViews;
  private readonly copyViews: PrefixViews;
  private receiver: Ipv4Receiver | undefined = undefined;
  private ip = 0;
  private started = false;
  private closed = false;

  constructor(opts: EthernetInterfaceOptions) {
    if (opts.mac.length !== MAC_LEN) throw new RangeError(`MAC must be ${MAC_LEN} bytes, got ${opts.mac.length}`);
    this.link = opts.link;
    this.mtu = opts.link.mtu;
    this.mac = opts.mac.slice();
    this.logger = opts.logger ?? silentLogger;
    this.pcap = opts.pcap;
    this.promiscuous = opts.promiscuous ?? false;
    this.arp = new ArpCache(this, opts.clock, this.mac, opts.arpOptions, this.logger);
    // Our source MAC never changes: write it once into both transmit buffers.
    copyMac(this.txFrame, ETH_OFF_SRC, this.mac);
    copyMac(this.copyFrame, ETH_OFF_SRC, this.mac);
    this.txViews = new PrefixViews(this.txFrame);
    this.copyViews = new PrefixViews(this.copyFrame);
    this.link.setReceiver(this);
  }

  get ipv4Address(): number {
    return this.ip;
  }

  setIpv4Address(addr: number): void {
    const changed = (addr >>> 0) !== this.ip;
    this.ip = addr >>> 0;
    this.arp.localIp = this.ip;
    if (this.started && changed) this.arp.announce();
  }

  setIpv4Receiver(receiver: Ipv4Receiver): void {
    this.receiver = receiver;
  }

  /** Bring the interface up: announce our address with a gratuitous ARP (again whenever it changes). */
  start(): void {
    if (this.closed) return;
    this.started = true;
    this.arp.announce();
  }

  /**
   * Take the interface down for good: stop the ARP timer, drop what waits for resolution,
   * close the link. Later sends fail with ENETDOWN; frames still arriving are counted
   * (rxDropDown) and dropped; nothing re-arms a timer.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.started = false;
    this.arp.clear();
    this.link.close();
  }

  stats(): InterfaceStats {
    return { ...this.counters, arp: { ...this.arp.counters } };
  }

  // ---- NetDevice: transmit ----

  sendIpv4(nextHop: number, len: number): ErrnoName | undefined {
    return this.sendFrom(this.txFrame, this.txViews, nextHop, len);
  }

  sendIpv4Copy(nextHop: number, datagram: Uint8Array): ErrnoName | undefined {
    if (datagram.length > MAX_DATAGRAM) return this.tooBig(datagram.length);
    this.copyFrame.set(datagram, ETH_HEADER_LEN);
    return this.sendFrom(this.copyFrame, this.copyViews, nextHop, datagram.length);
  }

  private sendFrom(buf: Uint8Array, views: PrefixViews, nextHop: number, len: number): ErrnoName | undefined {
    if (len > MAX_DATAGRAM || len < 0) return this.tooBig(len);
    if (this.closed) {
      this.counters.txDropDown++;
      return 'ENETDOWN';
    }
    nextHop >>>= 0;
    if (nextHop === IPV4_BROADCAST) {
      writeBroadcastMac(buf, ETH_OFF_DST);
    } else if (nextHop >>> 28 === 0xe) {
      // RFC 1112 section 6.4: multicast goes to the mapped group MAC, without ARP.
      writeIpv4MulticastMac(nextHop, buf, ETH_OFF_DST);
    } else {
      const mac = this.arp.lookup(nextHop);
      if (mac === undefined) {
        const err = this.arp.enqueue(nextHop, buf.subarray(ETH_HEADER_LEN, ETH_HEADER_LEN + len));
        if (err === undefined) this.counters.txQueued++;
        else if (err === 'EHOSTUNREACH') this.counters.txDropUnreachable++;
        else this.counters.txDropNoBuffer++;
        return err;
      }
      copyMac(buf, ETH_OFF_DST, mac);
    }
    writeU16(buf, ETH_OFF_TYPE, EtherType.IPv4);
    return this.transmit(views.get(ETH_HEADER_LEN + len));
  }

  private transmit(frame: Uint8Array): ErrnoName | undefined {
    this.pcap?.write(frame);
    if (!this.link.send(frame)) {
      this.counters.txDropLink++;
      if (this.logger.enabled('eth')) this.logger.log('eth', `tx drop: link refused a ${frame.length}-byte frame`);
      return 'ENOBUFS';
    }
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    return undefined;
  }

  private tooBig(len: number): ErrnoName {
    this.counters.txDropTooBig++;
    if (this.logger.enabled('eth')) this.logger.log('eth', `tx drop: datagram of ${len} bytes exceeds ${MAX_DATAGRAM}`);
    return 'EMSGSIZE';
  }

  // ---- ArpHost ----

  transmitArp(frame: Uint8Array): void {
    if (this.closed) return;
    this.transmit(frame);
  }

  transmitQueued(_nextHop: number, mac: Uint8Array, datagram: Uint8Array): void {
    if (this.closed) return;
    const buf = this.copyFrame;
    buf.set(datagram, ETH_HEADER_LEN);
    copyMac(buf, ETH_OFF_DST, mac);
    writeU16(buf, ETH_OFF_TYPE, EtherType.IPv4);
    this.transmit(this.copyViews.get(ETH_HEADER_LEN + datagram.length));
  }

  resolutionFailed(nextHop: number, datagram: Uint8Array): void {
    this.receiver?.resolutionFailed(nextHop, datagram);
  }

  // ---- LinkReceiver ----

  /**
   * One frame from the link. Every frame ends in exactly one counter: rxIpv4, rxArp, or
   * one of the rxDrop* counters (rxFrames is their sum).
   */
  receive(frame: Uint8Array): void {
    this.pcap?.write(frame);
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    if (this.closed) return this.drop('rxDropDown', frame, 'interface closed');
    if (frame.length < ETH_HEADER_LEN) return this.drop('rxDropMalformed', frame, 'frame shorter than the Ethernet header');
    // Not for our unicast MAC: link-layer broadcast or multicast (accepted: broadcast only,
    // we join no multicast group), or another host's frame (accepted only when promiscuous).
    const toUs = macEquals(frame, ETH_OFF_DST, this.mac, 0);
    const toAll = !toUs && isBroadcastMac(frame, ETH_OFF_DST);
    if (!toUs && !toAll && !this.promiscuous) return this.drop('rxDropNotForUs', frame, 'not for our MAC');
    const type = ethertypeOf(frame);
    switch (type) {
      case EtherType.IPv4: {
        const r = this.receiver;
        if (r === undefined) return this.drop('rxDropNoReceiver', frame, 'no IPv4 receiver');
        this.counters.rxIpv4++;
        r.receive(frame.subarray(ETH_HEADER_LEN), !toUs);
        return;
      }
      case EtherType.ARP:
        // Another host's ARP seen in promiscuous mode is none of our business (Linux
        // arp_rcv drops PACKET_OTHERHOST): neither learned from nor answered.
        if (!toUs && !toAll) return this.drop('rxDropNotForUs', frame, 'ARP for another MAC (promiscuous)');
        this.counters.rxArp++;
        this.arp.input(frame.subarray(ETH_HEADER_LEN));
        return;
      case EtherType.VLAN:
        return this.drop('rxDropVlan', frame, '802.1Q tagged (VLANs not supported)');
      default:
        return this.drop('rxDropBadEthertype', frame, 'EtherType not handled');
    }
  }

  batchEnd(): void {
    if (!this.closed) this.receiver?.batchEnd();
  }

  /** Count a dropped frame; the log line (built only when 'eth' logging is on) says why, with the numbers. */
  private drop(counter: InterfaceCounter, frame: Uint8Array, why: string): void {
    this.counters[counter]++;
    if (this.logger.enabled('eth')) {
      const hdr =
        frame.length >= ETH_HEADER_LEN
          ? ` from ${formatMac(frame, ETH_OFF_SRC)} to ${formatMac(frame, ETH_OFF_DST)} type 0x${ethertypeOf(frame).toString(16).padStart(4, '0')}`
          : '';
      this.logger.log('eth', `rx drop (${counter}): ${why}${hdr}, ${frame.length} bytes`);
    }
  }

  toString(): string {
    return `eth ${formatMac(this.mac)} ${ipToString(this.ip)} mtu ${this.mtu}`;
  }
}

/**
 * Views buf[0, len) for recently used lengths. Each frame sent hands the Link a view of a
 * transmit buffer, and creating a typed-array view costs about as much as the rest of
 * the Ethernet send path; traffic reuses a handful of lengths (full-size segments, bare
 * ACKs), so a small direct-mapped cache by length makes the view free. Safe because a
 * Link copies the frame before send() returns (link.ts) and never keeps the view.
 */
class PrefixViews {
  private readonly buf: Uint8Array;
  private readonly views: (Uint8Array | undefined)[] = [];

  constructor(buf: Uint8Array) {
    this.buf = buf;
    for (let i = 0; i < PREFIX_VIEW_SLOTS; i++) this.views.push(undefined);
  }

  get(len: number): Uint8Array {
    const slot = len & (PREFIX_VIEW_SLOTS - 1);
    const v = this.views[slot];
    if (v !== undefined && v.length === len) return v;
    const n = this.buf.subarray(0, len);
    this.views[slot] = n;
    return n;
  }
}
