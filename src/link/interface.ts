/**
 * An Ethernet interface: framing and ARP between a Link (TAP, memory pair, impaired link)
 * and IPv4 above it (the NetDevice contract in device.ts).
 *
 * Transmit: IPv4 builds its datagram in place in `txFrame` at `headroom` (14); sendIpv4()
 * writes the Ethernet header in front and hands the frame to the link, or leaves a COPY
 * with the ARP cache while the next hop resolves. On a link that lends its transmit slots
 * (TxBufferLink below; TapLink does) `txFrame` IS the next slot of the TAP's TX ring: the
 * datagram is built where write() sends it from, and no copy is made on the way down.
 * Receive: frames for our MAC or broadcast (anything, when promiscuous) are dispatched by
 * EtherType: IPv4 up to the Ipv4Receiver (flagged when not unicast to our MAC, for RFC 1122
 * 3.2.2 and 3.3.6), ARP to the cache, everything else counted and dropped. Every frame in
 * and out also goes to the optional pcap writer.
 *
 * Offloads (vnet.ts): on a link that carries virtio_net_hdr metadata (TapLink opened with
 * `offload`), the interface turns the kernel's offloads on and translates: RX metadata
 * becomes RxFlag bits for IPv4 (checksum vouched for, super-frame), and a TxOffload from
 * IPv4 becomes the header that asks the kernel to complete a checksum or segment a
 * 64 KB TCP super-frame (TSO). Like tcpdump on Linux, the pcap then shows super-frames
 * and partial checksums as they cross the link.
 */
import type { Clock } from '../core/clock.js';
import { writeU16 } from '../core/bytes.js';
import { counters, type Counters } from '../core/counters.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ipToString } from '../core/ipaddr.js';
import { ARP_COUNTERS, ArpCache, type ArpHost, type ArpOptions } from './arp.js';
import { RxFlag, type DeviceOffloads, type Ipv4Receiver, type NetDevice, type TxOffload } from './device.js';
import { ETH_HEADER_LEN, ETH_OFF_DST, ETH_OFF_SRC, ETH_OFF_TYPE, EtherType, ethertypeOf } from './ethernet.js';
import type { Link, LinkReceiver } from './link.js';
import { MAC_LEN, copyMac, formatMac, isBroadcastMac, macEquals, writeBroadcastMac, writeIpv4MulticastMac } from './mac.js';
import type { PcapWriter } from './pcap.js';
import { asOffloadLink, VnetFlag, VnetGso, VnetHeader, type OffloadLink, type OffloadReceiver } from './vnet.js';

export interface EthernetInterfaceOptions {
  link: Link;
  mac: Uint8Array;
  clock: Clock;
  logger?: Logger;
  pcap?: PcapWriter;
  arpOptions?: ArpOptions;
  /** Accept frames for any destination MAC (default false). */
  promiscuous?: boolean;
  /**
   * Use the link's checksum and segmentation offloads when it has them (an OffloadLink such
   * as a TapLink opened with `offload`). Default true; links without them are unaffected.
   */
  offload?: boolean;
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
  // Offload annotations (not part of the per-frame identity above): IPv4 frames whose
  // transport checksum the link vouched for, super-frames received (GRO/GSO) and sent
  // (TSO), frames sent with a partial checksum, offloaded sends turned back because the
  // next hop was not resolved (the transport sends those again without offload).
  'rxCsumTrusted',
  'rxGso',
  'txCsumPartial',
  'txGso',
  'txOffloadDeferred',
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

/** IPv4 header length from the first header byte (IHL, 32-bit words). */
const IPV4_IHL_MASK = 0x0f;
/** Offset of the TCP data-offset byte in the TCP header. */
const TCP_OFF_DATA_OFFSET = 12;
/** Largest datagram handed to the kernel to segment: IPv4's total length limit (a TAP takes 64 KB GSO frames). */
const TSO_MAX_DATAGRAM = MAX_DATAGRAM;

/**
 * A Link that lends its next transmit slot, so a frame is built where the driver sends it
 * from (no copy; TapLink lends its TX ring slots). txBuffer() returns the slot's frame area
 * (at least 14 + 65535 bytes), the same slot until sendTxBuffer(len) queues its first `len`
 * bytes or a send() takes the slot for another frame (whatever was built there is then
 * lost); undefined when the queue is full even after a flush, or the link cannot lend
 * (closed, small slots).
 */
export interface TxBufferLink extends Link {
  txBuffer(): Uint8Array | undefined;
  /** Queue the frame built in the lent slot (with offload metadata on an OffloadLink). */
  sendTxBuffer(len: number, vnet?: VnetHeader): boolean;
}

/** The link as a TxBufferLink, when it is one. */
export function asTxBufferLink(link: Link): TxBufferLink | undefined {
  return typeof (link as Partial<TxBufferLink>).txBuffer === 'function' ? (link as TxBufferLink) : undefined;
}

export class EthernetInterface implements NetDevice, LinkReceiver, OffloadReceiver, ArpHost {
  readonly mtu: number;
  readonly mac: Uint8Array;
  readonly headroom = ETH_HEADER_LEN;
  /** Our own transmit buffer, for links that lend no slot (and when the TAP's ring is full). */
  private readonly ownTxFrame = new Uint8Array(ETH_HEADER_LEN + MAX_DATAGRAM);
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
  /** The link as an OffloadLink when its offloads are on, else undefined. */
  private readonly olink: OffloadLink | undefined;
  private readonly deviceOffloads: DeviceOffloads | undefined;
  /** Metadata for the frame being sent (reused). */
  private readonly txVnet = new VnetHeader();
  /** The link, when it lends transmit slots to build frames in (zero-copy TX). */
  private readonly zlink: TxBufferLink | undefined;
  /** What the last read of `txFrame` returned: where the datagram for sendIpv4() is built. */
  private curTx: Uint8Array;
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
    copyMac(this.ownTxFrame, ETH_OFF_SRC, this.mac);
    copyMac(this.copyFrame, ETH_OFF_SRC, this.mac);
    this.txViews = new PrefixViews(this.ownTxFrame);
    this.curTx = this.ownTxFrame;
    this.zlink = asTxBufferLink(this.link);
    this.copyViews = new PrefixViews(this.copyFrame);
    this.link.setReceiver(this);
    const ol = opts.offload === false ? undefined : asOffloadLink(this.link);
    const on = ol?.setOffloads(true);
    if (ol !== undefined && on !== undefined && on.csum) {
      this.olink = ol;
      this.deviceOffloads = Object.freeze({ csum: true, tsoMaxSize: on.tso4 ? TSO_MAX_DATAGRAM : 0 });
    } else {
      this.olink = undefined;
      this.deviceOffloads = undefined;
    }
  }

  /** NetDevice: what the link completes or segments for us (undefined: nothing). */
  get offloads(): DeviceOffloads | undefined {
    return this.deviceOffloads;
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

  /**
   * NetDevice: the buffer to build the next outgoing frame in. On a TxBufferLink, the
   * link's next transmit slot (the same one until a frame is sent); else our own buffer.
   * Read it once per datagram: sendIpv4() sends from what the last read returned.
   */
  get txFrame(): Uint8Array {
    this.curTx = (this.closed ? undefined : this.zlink?.txBuffer()) ?? this.ownTxFrame;
    return this.curTx;
  }

  sendIpv4(nextHop: number, len: number, offload?: TxOffload): ErrnoName | undefined {
    const buf = this.curTx;
    if (buf === this.ownTxFrame) return this.sendFrom(buf, this.txViews, nextHop, len, offload);
    // Built in a slot the link lent: still lent unless another frame was sent meanwhile
    // (which took the slot and what was built in it).
    const lent = this.closed ? undefined : this.zlink!.txBuffer();
    if (lent === undefined || lent.buffer !== buf.buffer || lent.byteOffset !== buf.byteOffset) {
      this.curTx = this.ownTxFrame;
      this.counters.txDropNoBuffer++;
      if (this.logger.enabled('eth')) this.logger.log('eth', `tx drop: the ${len}-byte datagram's transmit slot was taken by another frame`);
      return 'ENOBUFS';
    }
    copyMac(buf, ETH_OFF_SRC, this.mac);
    return this.sendFrom(buf, undefined, nextHop, len, offload);
  }

  sendIpv4Copy(nextHop: number, datagram: Uint8Array): ErrnoName | undefined {
    if (datagram.length > MAX_DATAGRAM) return this.tooBig(datagram.length);
    this.copyFrame.set(datagram, ETH_HEADER_LEN);
    return this.sendFrom(this.copyFrame, this.copyViews, nextHop, datagram.length);
  }

  /** Address and send the datagram at buf[14, 14 + len); `views` undefined: buf is a slot the link lent. */
  private sendFrom(buf: Uint8Array, views: PrefixViews | undefined, nextHop: number, len: number, offload?: TxOffload): ErrnoName | undefined {
    if (len > MAX_DATAGRAM || len < 0) return this.tooBig(len);
    if (this.closed) {
      this.counters.txDropDown++;
      return 'ENETDOWN';
    }
    if (offload !== undefined && (this.olink === undefined || (offload.gsoSize > 0 && this.deviceOffloads?.tsoMaxSize === 0))) {
      // Asked for what the link does not do: the transport sends it plainly.
      this.counters.txOffloadDeferred++;
      return 'EAGAIN';
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
        if (offload !== undefined) {
          // A datagram waiting for ARP is sent later as a plain frame: it must not depend on
          // the offload. The transport sends it again without (and that copy waits for ARP).
          this.counters.txOffloadDeferred++;
          return 'EAGAIN';
        }
        let dgram = buf.subarray(ETH_HEADER_LEN, ETH_HEADER_LEN + len);
        if (views === undefined) {
          // In a lent slot: copy it out first. The ARP request goes out through the link,
          // which takes that slot, and the cache may send it before it makes its copy.
          this.copyFrame.set(dgram, ETH_HEADER_LEN);
          dgram = this.copyFrame.subarray(ETH_HEADER_LEN, ETH_HEADER_LEN + len);
        }
        const err = this.arp.enqueue(nextHop, dgram);
        if (err === undefined) this.counters.txQueued++;
        else if (err === 'EHOSTUNREACH') this.counters.txDropUnreachable++;
        else this.counters.txDropNoBuffer++;
        return err;
      }
      copyMac(buf, ETH_OFF_DST, mac);
    }
    writeU16(buf, ETH_OFF_TYPE, EtherType.IPv4);
    const vnet = offload === undefined ? undefined : this.vnetFor(buf, offload);
    if (views === undefined) return this.transmitLent(buf, ETH_HEADER_LEN + len, vnet);
    return this.transmit(views.get(ETH_HEADER_LEN + len), vnet);
  }

  /** transmit() for a frame built in the slot the link lent (buf): published in place. */
  private transmitLent(buf: Uint8Array, frameLen: number, vnet: VnetHeader | undefined): ErrnoName | undefined {
    this.pcap?.write(buf.subarray(0, frameLen));
    this.curTx = this.ownTxFrame;
    if (!this.zlink!.sendTxBuffer(frameLen, vnet)) {
      this.counters.txDropLink++;
      if (this.logger.enabled('eth')) this.logger.log('eth', `tx drop: link refused a ${frameLen}-byte frame`);
      return 'ENOBUFS';
    }
    this.counters.txFrames++;
    this.counters.txBytes += frameLen;
    return undefined;
  }

  /**
   * The virtio_net_hdr for an offloaded datagram in buf: NEEDS_CSUM with csum_start at the
   * transport header; for TSO also gso_type TCPV4, gso_size = MSS and hdr_len = the
   * Ethernet + IPv4 + TCP headers every segment repeats.
   */
  private vnetFor(buf: Uint8Array, o: TxOffload): VnetHeader {
    const h = this.txVnet;
    const l4 = ETH_HEADER_LEN + o.csumStart;
    h.flags = VnetFlag.NEEDS_CSUM;
    h.csumStart = l4;
    h.csumOffset = o.csumOffset;
    this.counters.txCsumPartial++;
    if (o.gsoSize > 0) {
      h.gsoType = VnetGso.TCPV4;
      h.gsoSize = o.gsoSize;
      h.hdrLen = l4 + (buf[l4 + TCP_OFF_DATA_OFFSET]! >>> 4) * 4;
      this.counters.txGso++;
    } else {
      h.gsoType = VnetGso.NONE;
      h.gsoSize = 0;
      h.hdrLen = l4 + o.csumOffset + 2;
    }
    return h;
  }

  private transmit(frame: Uint8Array, vnet?: VnetHeader): ErrnoName | undefined {
    this.pcap?.write(frame);
    const sent = vnet === undefined ? this.link.send(frame) : this.olink!.send(frame, vnet);
    if (!sent) {
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
  receive(frame: Uint8Array, vnet?: VnetHeader): void {
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
        const flags = vnet === undefined || (vnet.flags === 0 && vnet.gsoType === VnetGso.NONE) ? 0 : this.rxFlags(frame, vnet);
        r.receive(frame.subarray(ETH_HEADER_LEN), !toUs, flags);
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

  /**
   * RxFlag bits from a received frame's virtio_net_hdr. DATA_VALID: the kernel verified the
   * checksum. NEEDS_CSUM: the checksum is partial because the frame comes from the local
   * kernel (nothing crossed a wire); trusted only when csum_start is this datagram's
   * transport header, else the transport verifies (and drops) it as usual.
   */
  private rxFlags(frame: Uint8Array, vnet: VnetHeader): number {
    let flags = 0;
    if (vnet.flags & VnetFlag.DATA_VALID) flags |= RxFlag.CSUM_VERIFIED;
    else if (vnet.flags & VnetFlag.NEEDS_CSUM && frame.length > ETH_HEADER_LEN) {
      const l4 = ETH_HEADER_LEN + (frame[ETH_HEADER_LEN]! & IPV4_IHL_MASK) * 4;
      if (vnet.csumStart === l4) flags |= RxFlag.CSUM_VERIFIED;
    }
    if (flags & RxFlag.CSUM_VERIFIED) this.counters.rxCsumTrusted++;
    if (vnet.gsoType !== VnetGso.NONE) {
      flags |= RxFlag.GSO;
      this.counters.rxGso++;
    }
    return flags;
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
