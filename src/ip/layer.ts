/**
 * The IPv4 layer of a host (RFC 791, RFC 1122 sections 3.2 and 3.3): between one
 * NetDevice below and the transports above (registered per protocol number).
 *
 * Receive: validate, accept datagrams for our address, limited broadcast and subnet
 * broadcast (we are a host: nothing is forwarded, RFC 1122 3.3.1), reassemble fragments,
 * dispatch by protocol. ICMP is handled here: echo requests are answered, echo replies
 * go to the echo listeners (ping.ts), errors are matched to the transport that sent the
 * quoted datagram, and fragmentation-needed lowers the path MTU (RFC 1191).
 *
 * Send: transports build their datagram in `scratch`, which sits in the device's frame
 * buffer right after room for the IPv4 and link headers, so the header is written in
 * front in place. The frame buffer may change from one datagram to the next (on a TAP it
 * is the next slot of the TX ring, see EthernetInterface.txFrame): `scratch` is read once
 * per datagram, and send() writes the header into the frame that scratch came from. Too
 * big without DF: fragmented (RFC 791 3.2). Datagrams to ourselves (our address, 127/8)
 * are delivered through a queue drained from a zero-delay timer, never recursively.
 *
 * Counters follow Linux /proc/net/snmp (Ip:, Icmp:) and /proc/net/netstat (IpExt:); see
 * mib.ts for the identities they obey.
 */
import type { Clock, Timer } from '../core/clock.js';
import { counters } from '../core/counters.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Rng } from '../core/rng.js';
import { RxFlag, type Ipv4Receiver, type NetDevice, type TxOffload } from '../link/device.js';
import { updateChecksum16 } from './checksum.js';
import {
  emitEcho,
  emitIcmpError,
  ICMP_HEADER_LEN,
  IcmpOff,
  IcmpPacket,
  IcmpType,
  icmpErrno,
  isIcmpQuery,
  paramProblemRest,
  UnreachCode,
  TimeExceededCode,
} from './icmp.js';
import {
  emitIpv4Header,
  IPV4_HEADER_LEN,
  IPV4_MAX_DATAGRAM,
  Ipv4Packet,
  ipv4OptionsError,
  ipv4SourceRoutePending,
  readU16,
  writeU16,
  type Ipv4HeaderFields,
} from './ipv4.js';
import { ICMP_COUNTERS, IP_COUNTERS } from './mib.js';
import { PmtuCache, PMTU_EXPIRES_MS } from './pmtu.js';
import { ICMP_RATE_BURST, ICMP_RATE_PER_SEC, TokenBucket } from './ratelimit.js';
import { Reassembler, type ReassemblyOptions } from './reassembly.js';
import { isLoopback, isMulticast, isThisNetwork, Ipv4Route, LIMITED_BROADCAST } from './route.js';
import { RxViews } from './rx-views.js';
import { IpProto, ipToString, type IpOffloads, type IpProtocolHandler, type IpSender, type IpSendOptions } from './types.js';

export { ICMP_COUNTERS, IP_COUNTERS };

export interface Ipv4LayerOptions {
  /** TTL of datagrams we originate. Linux ip_default_ttl: 64. */
  defaultTtl?: number;
  reassembly?: ReassemblyOptions;
  /** Global ICMP error token bucket (Linux icmp_msgs_per_sec / icmp_msgs_burst). */
  icmpRatePerSec?: number;
  icmpRateBurst?: number;
  /** Ignore echo requests sent to a broadcast address (Linux icmp_echo_ignore_broadcasts: 1). */
  echoIgnoreBroadcasts?: boolean;
  /** Lifetime of a learned path MTU (Linux ip_rt_mtu_expires: 600 s). */
  pmtuExpiresMs?: number;
  /** Datagrams to ourselves waiting for delivery. */
  loopbackQueueMax?: number;
  /**
   * Accept a datagram to our unicast address that arrived as a link-layer broadcast
   * (default false: RFC 1122 3.3.6 says a host SHOULD discard it; Linux accepts it unless
   * drop_unicast_in_l2_multicast is set).
   */
  acceptUnicastInLinkBroadcast?: boolean;
}

export interface Ipv4LayerConfig {
  device: NetDevice;
  clock: Clock;
  rng: Rng;
  addr: number;
  prefixLen: number;
  gateway?: number;
  logger?: Logger;
  options?: Ipv4LayerOptions;
}

/** Receives ICMP echo traffic for one identifier (see ping.ts). */
export interface EchoListener {
  /** An echo reply carrying our identifier. `message` is the ICMP message, valid only during the call. */
  reply(src: number, seq: number, ttl: number, message: Uint8Array): void;
  /** An echo request we sent to `dst` failed: ICMP error (mapped errno) or address resolution (EHOSTUNREACH). */
  error(dst: number, seq: number, errno: ErrnoName): void;
  /** The layer was closed (ENETDOWN): no reply can come any more. Optional. */
  abort?(errno: ErrnoName): void;
}

/** RFC 1812 4.3.2.5 / Linux: ICMP errors carry precedence "internetwork control" (0xc0). */
const TOS_INTERNETWORK_CONTROL = 0xc0;
/** TCP data offset byte (header length in its high nibble), to size a TSO segment's headers. */
const TCP_OFF_DATA_OFFSET = 12;

export class Ipv4Layer implements IpSender, Ipv4Receiver {
  readonly route: Ipv4Route;
  readonly clock: Clock;
  readonly ipStats = counters(IP_COUNTERS);
  readonly icmpStats = counters(ICMP_COUNTERS);

  private readonly device: NetDevice;
  private readonly rng: Rng;
  private readonly logger: Logger;
  private readonly debug: boolean;
  private readonly defaultTtl: number;
  private readonly echoIgnoreBroadcasts: boolean;
  private readonly loopbackQueueMax: number;
  private readonly acceptUnicastInLinkBroadcast: boolean;
  private closed = false;
  private readonly handlers: (IpProtocolHandler | undefined)[] = new Array<IpProtocolHandler | undefined>(256);
  private readonly handlerList: IpProtocolHandler[] = [];
  private readonly echo = new Map<number, EchoListener>();
  private readonly reasm: Reassembler;
  private readonly pmtu: PmtuCache;
  private readonly icmpBucket: TokenBucket;
  /** Views reused for every received packet; a nested receive (a synchronous link) gets fresh ones. */
  private readonly rxViews = new RxViews();
  private rxDepth = 0;
  private readonly hdr: Ipv4HeaderFields = { totalLength: 0, id: 0, ttl: 64, protocol: 0, src: 0, dst: 0 };
  /** The offload request handed to the device (reused). */
  private readonly txo: TxOffload = { csumStart: IPV4_HEADER_LEN, csumOffset: 0, gsoSize: 0 };
  private nextId: number;
  private fragBuf: Uint8Array | undefined;
  /** A copy of the datagram being fragmented (the frame buffer is reused by each fragment's send). */
  private fragSrc: Uint8Array | undefined;
  /** The device frame the current datagram is built in, and its scratch view (see `scratch`). */
  private frame: Uint8Array;
  private scratchView: Uint8Array;
  /** Scratch views of the frame buffers seen so far (a TAP lends a fixed set of ring slots). */
  private readonly scratchViews = new WeakMap<Uint8Array, Uint8Array>();
  private readonly scratchOffset: number;
  private loopQueue: Uint8Array[] = [];
  private readonly loopTimer: Timer;

  constructor(cfg: Ipv4LayerConfig) {
    const o = cfg.options ?? {};
    this.device = cfg.device;
    this.clock = cfg.clock;
    this.rng = cfg.rng;
    this.logger = cfg.logger ?? silentLogger;
    this.debug = this.logger.enabled('ip') || this.logger.enabled('icmp');
    this.route = new Ipv4Route({ addr: cfg.addr, prefixLen: cfg.prefixLen, gateway: cfg.gateway });
    this.defaultTtl = o.defaultTtl ?? 64;
    this.echoIgnoreBroadcasts = o.echoIgnoreBroadcasts ?? true;
    this.loopbackQueueMax = o.loopbackQueueMax ?? 1000;
    this.acceptUnicastInLinkBroadcast = o.acceptUnicastInLinkBroadcast ?? false;
    this.scratchOffset = this.device.headroom + IPV4_HEADER_LEN;
    this.frame = this.device.txFrame;
    this.scratchView = this.frame.subarray(this.scratchOffset);
    this.nextId = this.rng.nextU32() & 0xffff;
    this.pmtu = new PmtuCache(o.pmtuExpiresMs ?? PMTU_EXPIRES_MS);
    this.icmpBucket = new TokenBucket(o.icmpRatePerSec ?? ICMP_RATE_PER_SEC, o.icmpRateBurst ?? ICMP_RATE_BURST, this.clock.now());
    this.reasm = new Reassembler({
      clock: this.clock,
      options: o.reassembly,
      logger: this.logger,
      onTimeout: (src, dst, quote) => this.reassemblyTimedOut(src, dst, quote),
    });
    this.loopTimer = this.clock.createTimer(() => this.drainLoopback());
    this.device.setIpv4Address(this.route.addr);
    this.device.setIpv4Receiver(this);
  }

  get localAddr(): number {
    return this.route.addr;
  }

  /**
   * IpSender: where to build the next datagram (after room for the IPv4 and link headers
   * in the device's frame buffer). Valid until the next send(); read it for every datagram.
   */
  get scratch(): Uint8Array {
    const f = this.device.txFrame;
    if (f !== this.frame) {
      this.frame = f;
      let v = this.scratchViews.get(f);
      if (v === undefined) {
        v = f.subarray(this.scratchOffset);
        this.scratchViews.set(f, v);
      }
      this.scratchView = v;
    }
    return this.scratchView;
  }

  /** IpSender: the device's checksum and segmentation offloads (undefined: none). */
  get offloads(): IpOffloads | undefined {
    return this.device.offloads;
  }

  /** Register the transport for an IP protocol number (not ICMP, which this layer owns). */
  register(proto: number, handler: IpProtocolHandler): void {
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new RangeError(`protocol ${proto} is not 0..255`);
    if (proto === IpProto.ICMP) throw new Error('ICMP is handled by the IPv4 layer itself');
    if (this.handlers[proto] !== undefined) throw new Error(`protocol ${proto} already has a handler`);
    this.handlers[proto] = handler;
    this.handlerList.push(handler);
  }

  /** Snapshot of the counters: `ip` (Ip + IpExt + reassembly) and `icmp`. */
  stats(): { ip: Record<string, number>; icmp: Record<string, number> } {
    return { ip: { ...this.ipStats, ...this.reasm.stats }, icmp: { ...this.icmpStats } };
  }

  /**
   * Stop timers, drop held fragments and queued loopback datagrams, abort the echo
   * listeners (pending pings fail with ENETDOWN). Afterwards sends fail with ENETDOWN and
   * received datagrams are discarded (InDiscards), so nothing re-arms a timer. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reasm.clear();
    this.loopTimer.cancel();
    this.loopQueue = [];
    // Pending pings stop their timers and fail at once rather than time out later.
    const listeners = [...this.echo.values()];
    this.echo.clear();
    for (const l of listeners) l.abort?.('ENETDOWN');
  }

  // ---------------------------------------------------------------- send

  /** Largest datagram toward dst: the link MTU, lowered by PMTU discovery; 65535 to ourselves. */
  pathMtu(dst: number): number {
    if (this.route.isLocal(dst)) return IPV4_MAX_DATAGRAM;
    const link = this.device.mtu;
    const learned = this.pmtu.get(dst, this.clock.now());
    return learned === undefined || learned > link ? link : learned;
  }

  send(dst: number, proto: number, len: number, opts?: IpSendOptions): ErrnoName | undefined {
    const s = this.ipStats;
    const csumOffset = opts?.csumOffset;
    // An offload the device cannot do for this datagram: the transport sends it plainly.
    if (csumOffset !== undefined && !this.canOffload(dst, proto, len, opts!.gsoSize ?? 0)) return 'EAGAIN';
    s.OutRequests++;
    if (this.closed) {
      s.OutDiscards++;
      return 'ENETDOWN';
    }
    const total = IPV4_HEADER_LEN + len;
    if (!(len >= 0 && len <= this.scratchView.length && total <= IPV4_MAX_DATAGRAM)) {
      s.OutDiscards++;
      return 'EMSGSIZE';
    }
    const nextHop = this.route.nextHop(dst);
    if (nextHop === undefined) {
      s.OutNoRoutes++;
      if (this.debug) this.log('ip', `no route to ${ipToString(dst)} (${this.route.toString()})`);
      return 'ENETUNREACH';
    }
    const h = this.hdr;
    h.tos = opts?.tos ?? 0;
    h.ttl = opts?.ttl ?? this.defaultTtl;
    h.protocol = proto;
    h.dst = dst;
    // To 127/8 the source is the loopback destination itself, as on Linux's lo.
    h.src = isLoopback(dst) ? dst : this.route.addr;
    h.id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xffff;
    h.dontFragment = opts?.dontFragment === true;
    h.moreFragments = false;
    h.fragmentOffset = 0;
    h.totalLength = total;
    if (this.route.isLocal(dst)) return this.loopback(len);

    const mtu = this.pathMtu(dst);
    let offload: TxOffload | undefined;
    if (csumOffset !== undefined) {
      offload = this.txo;
      offload.csumOffset = csumOffset;
      offload.gsoSize = 0;
      const gso = opts!.gsoSize ?? 0;
      if (gso > 0 && total > mtu) {
        // TSO: one datagram larger than the path MTU, cut by the device into segments of
        // `gso` payload octets behind copies of our headers; each of those must fit the MTU.
        const seg = IPV4_HEADER_LEN + (this.scratchView[TCP_OFF_DATA_OFFSET]! >>> 4) * 4 + gso;
        if (seg > mtu) {
          s.FragFails++;
          s.OutDiscards++;
          if (this.debug) this.log('ip', `TSO segment of ${seg} bytes to ${ipToString(dst)} > path MTU ${mtu}: EMSGSIZE`);
          return 'EMSGSIZE';
        }
        offload.gsoSize = gso;
      }
    }
    if (total <= mtu || offload?.gsoSize) {
      emitIpv4Header(this.frame, this.device.headroom, h);
      const err = this.device.sendIpv4(nextHop, total, offload);
      if (err === 'EAGAIN') {
        // The device turned the offload down (next hop not resolved): nothing was sent,
        // the transport sends this datagram again without offload.
        s.OutRequests--;
        return err;
      }
      if (err === undefined) s.OutTransmits++;
      else s.OutDiscards++;
      return err;
    }
    // RFC 1191 section 3 / RFC 1122 3.3.3: DF set and too big for the path: the sender
    // learns EMSGSIZE (Linux counts FragFails for a local datagram it may not fragment).
    if (h.dontFragment) {
      s.FragFails++;
      if (this.debug) this.log('ip', `${total} bytes to ${ipToString(dst)} > path MTU ${mtu} with DF: EMSGSIZE`);
      return 'EMSGSIZE';
    }
    return this.fragment(nextHop, len, mtu);
  }

  /**
   * Whether the device can complete the checksum (and, with gsoSize, segment) a datagram of
   * `len` transport octets to dst. Loopback datagrams never leave the layer: they need
   * complete checksums (the transport resends without offload).
   */
  private canOffload(dst: number, proto: number, len: number, gsoSize: number): boolean {
    const o = this.device.offloads;
    if (o === undefined || !o.csum || this.closed || this.route.isLocal(dst)) return false;
    if (gsoSize === 0) return true;
    return proto === IpProto.TCP && IPV4_HEADER_LEN + len <= o.tsoMaxSize;
  }

  /**
   * RFC 791 section 3.2 "Fragmentation" (RFC 1122 3.3.3): cut the data into pieces of the
   * largest multiple of 8 octets that fits the MTU behind a copy of the header; every
   * piece but the last has MF set; offsets count 8-octet units. Each fragment is copied
   * out by the device (sendIpv4Copy), so one buffer serves them all.
   */
  private fragment(nextHop: number, len: number, mtu: number): ErrnoName | undefined {
    const s = this.ipStats;
    const h = this.hdr;
    const maxData = (mtu - IPV4_HEADER_LEN) & ~7;
    const buf = (this.fragBuf ??= new Uint8Array(Math.max(this.device.mtu, mtu)));
    // Each fragment is sent as a copy, which may take the frame buffer the datagram is in.
    const src = (this.fragSrc ??= new Uint8Array(IPV4_MAX_DATAGRAM));
    src.set(this.scratchView.subarray(0, len));
    for (let off = 0; off < len; off += maxData) {
      const n = Math.min(maxData, len - off);
      h.totalLength = IPV4_HEADER_LEN + n;
      h.fragmentOffset = off;
      h.moreFragments = off + n < len;
      emitIpv4Header(buf, 0, h);
      buf.set(src.subarray(off, off + n), IPV4_HEADER_LEN);
      const err = this.device.sendIpv4Copy(nextHop, buf.subarray(0, IPV4_HEADER_LEN + n));
      if (err !== undefined) {
        s.FragFails++;
        s.OutDiscards++;
        return err;
      }
      s.FragCreates++;
      s.OutTransmits++;
    }
    s.FragOKs++;
    return undefined;
  }

  /** Queue a copy of the datagram for delivery to ourselves on the next timer tick. */
  private loopback(len: number): ErrnoName | undefined {
    if (this.loopQueue.length >= this.loopbackQueueMax) {
      this.ipStats.OutDiscards++;
      return 'ENOBUFS';
    }
    const d = new Uint8Array(IPV4_HEADER_LEN + len);
    emitIpv4Header(d, 0, this.hdr);
    d.set(this.scratchView.subarray(0, len), IPV4_HEADER_LEN);
    this.loopQueue.push(d);
    if (this.loopTimer.deadline === undefined) this.loopTimer.arm(this.clock.now());
    return undefined;
  }

  private drainLoopback(): void {
    const q = this.loopQueue;
    this.loopQueue = [];
    for (const d of q) this.input(d, true, false);
    this.batchEnd();
  }

  // ---------------------------------------------------------------- receive (Ipv4Receiver)

  receive(datagram: Uint8Array, linkBroadcast = false, rxFlags = 0): void {
    this.input(datagram, false, linkBroadcast, rxFlags);
  }

  batchEnd(): void {
    for (const h of this.handlerList) h.batchEnd?.();
  }

  /** Datagrams queued for ARP toward nextHop were dropped: tell their senders (EHOSTUNREACH). */
  resolutionFailed(nextHop: number, datagram: Uint8Array): void {
    this.ipStats.OutUnresolved++;
    const q = new Ipv4Packet();
    if (q.reset(datagram, false) !== undefined) return;
    if (this.debug) this.log('ip', `no ARP answer from ${ipToString(nextHop)}: dropped datagram to ${ipToString(q.dst)}`);
    // Only the first fragment names the transport endpoint.
    if (q.fragmentOffset !== 0) return;
    if (q.protocol === IpProto.ICMP) {
      const m = q.payload;
      if (m.length >= ICMP_HEADER_LEN && m[IcmpOff.TYPE] === IcmpType.ECHO_REQUEST) {
        this.echo.get(readU16(m, IcmpOff.ID))?.error(q.dst, readU16(m, IcmpOff.SEQ), 'EHOSTUNREACH');
      }
      return;
    }
    this.handlers[q.protocol]?.unreachable?.(q.dst, 'EHOSTUNREACH');
  }

  private input(bytes: Uint8Array, looped: boolean, linkBroadcast: boolean, rxFlags = 0): void {
    const v = this.rxDepth === 0 ? this.rxViews : new RxViews();
    this.rxDepth++;
    try {
      v.rxFlags = rxFlags;
      this.inputWith(v, bytes, looped, linkBroadcast);
    } finally {
      this.rxDepth--;
      v.info.packet = undefined;
    }
  }

  /**
   * One received datagram. Every datagram ends in exactly one of: InHdrErrors,
   * InTruncatedPkts, InAddrErrors, InDiscards, ReasmReqds (a fragment: held, completed
   * or failed), InUnknownProtos or InDelivers. A datagram completed by reassembly then
   * ends in InUnknownProtos or InDelivers too, so
   *   InReceives + ReasmOKs = InHdrErrors + InTruncatedPkts + InAddrErrors + InDiscards
   *                           + ReasmReqds + InUnknownProtos + InDelivers.
   */
  private inputWith(v: RxViews, bytes: Uint8Array, looped: boolean, linkBroadcast: boolean): void {
    const s = this.ipStats;
    s.InReceives++;
    if (this.closed) {
      s.InDiscards++;
      return;
    }
    const p = v.rx;
    const err = p.reset(bytes);
    if (err !== undefined) {
      if (err === 'truncated') s.InTruncatedPkts++;
      else {
        s.InHdrErrors++;
        if (err === 'bad-checksum') s.InCsumErrors++;
      }
      if (this.debug) this.log('ip', `drop: ${err} (${bytes.length} bytes)`);
      return;
    }
    const src = p.src;
    const dst = p.dst;
    // RFC 1122 3.2.1.3: loopback, broadcast and multicast sources are martians, and
    // our own address can only come from ourselves. 0.0.0.0/8 ("this network") is a
    // source only while a host is being configured, so (as Linux) only toward the
    // limited broadcast.
    if (
      !looped &&
      (src === this.route.addr ||
        isLoopback(src) ||
        isMulticast(src) ||
        src === LIMITED_BROADCAST ||
        src === this.route.broadcast ||
        (isThisNetwork(src) && dst !== LIMITED_BROADCAST))
    ) {
      s.InAddrErrors++;
      if (this.debug) this.log('ip', `drop: martian source ${ipToString(src)}`);
      return;
    }
    let broadcast = false;
    if (dst !== this.route.addr) {
      if (this.route.isBroadcast(dst)) broadcast = true;
      else if (!(looped && isLoopback(dst))) {
        // RFC 1122 3.3.1: a host does not forward; anything not addressed to us is dropped.
        s.InAddrErrors++;
        if (this.debug) this.log('ip', `drop: ${ipToString(dst)} is not our address`);
        return;
      }
    }
    // RFC 1122 3.3.6: "A host SHOULD silently discard a datagram that is received via a
    // link-layer broadcast (see Section 2.4) but does not specify an IP multicast or
    // broadcast destination address." (Also what arrives in promiscuous mode for another MAC.)
    if (linkBroadcast && !broadcast && !this.acceptUnicastInLinkBroadcast) {
      s.InAddrErrors++;
      if (this.debug) this.log('ip', `drop: unicast ${ipToString(dst)} received as a link-layer broadcast`);
      return;
    }
    if (broadcast) s.InBcastPkts++;
    v.broadcast = broadcast;
    // RFC 1122 3.2.2: no ICMP error about a datagram to an IP broadcast or sent as a
    // link-layer broadcast (multicast destinations are checked in sendIcmpError).
    v.quiet = broadcast || linkBroadcast;
    if (p.headerLength > IPV4_HEADER_LEN && !this.checkOptions(v, p)) return;
    if (p.isFragment) {
      const whole = this.reasm.add(p);
      if (whole === undefined) return;
      if (v.whole.reset(whole) !== undefined) return; // cannot happen: built valid
      this.deliver(v, v.whole);
      return;
    }
    this.deliver(v, p);
  }

  /** Options are otherwise ignored; malformed ones earn a parameter problem (RFC 1122 3.2.1.8, 3.2.2.5). */
  private checkOptions(v: RxViews, p: Ipv4Packet): boolean {
    const header = p.header;
    const bad = ipv4OptionsError(header);
    if (bad >= 0) {
      this.ipStats.InHdrErrors++;
      if (this.debug) this.log('ip', `drop: malformed option at octet ${bad}`);
      this.sendIcmpError(p, v.quiet, IcmpType.PARAM_PROBLEM, 0, paramProblemRest(bad));
      return false;
    }
    // RFC 1122 3.3.5: we do not forward, so a source route naming more hops is not ours.
    if (ipv4SourceRoutePending(header)) {
      this.ipStats.InDiscards++;
      if (this.debug) this.log('ip', `drop: source route not exhausted (we do not forward)`);
      return false;
    }
    return true;
  }

  private deliver(v: RxViews, p: Ipv4Packet): void {
    const s = this.ipStats;
    const proto = p.protocol;
    if (proto === IpProto.ICMP) {
      s.InDelivers++;
      this.icmpInput(v, p);
      return;
    }
    const h = this.handlers[proto];
    if (h === undefined) {
      s.InUnknownProtos++;
      if (this.debug) this.log('ip', `drop: no handler for protocol ${proto}`);
      // RFC 1122 3.2.2.1: a host SHOULD generate protocol unreachable.
      this.sendIcmpError(p, v.quiet, IcmpType.DEST_UNREACH, UnreachCode.PROTOCOL, 0);
      return;
    }
    s.InDelivers++;
    const info = v.info;
    info.src = p.src;
    info.dst = p.dst;
    info.ttl = p.ttl;
    info.tos = p.tos;
    // What the link vouched for covers the datagram it delivered, not one rebuilt by reassembly.
    info.checksumVerified = (v.rxFlags & RxFlag.CSUM_VERIFIED) !== 0 && p === v.rx;
    info.packet = p;
    const wanted = h.receive(info, p.payload);
    // RFC 1122 3.2.2.1 / 4.1.3.1: no endpoint (UDP): port unreachable.
    if (!wanted) this.sendIcmpError(p, v.quiet, IcmpType.DEST_UNREACH, UnreachCode.PORT, 0);
  }

  // ---------------------------------------------------------------- ICMP

  /** Every message ends in InErrors (bad length or checksum) or one per-type counter (InUnknownTypes for the rest). */
  private icmpInput(v: RxViews, p: Ipv4Packet): void {
    const st = this.icmpStats;
    st.InMsgs++;
    const m = v.icmp;
    const err = m.reset(p.payload);
    if (err !== undefined) {
      st.InErrors++;
      if (err === 'bad-checksum') st.InCsumErrors++;
      if (this.debug) this.log('icmp', `drop: ${err} from ${ipToString(p.src)}`);
      return;
    }
    switch (m.type) {
      case IcmpType.ECHO_REQUEST:
        st.InEchos++;
        // RFC 1122 3.2.2.6: an echo request to a broadcast address MAY be silently discarded.
        if (v.broadcast && this.echoIgnoreBroadcasts) return;
        this.echoReply(p, m);
        return;
      case IcmpType.ECHO_REPLY:
        st.InEchoReps++;
        this.echo.get(m.id)?.reply(p.src, m.sequence, p.ttl, m.message);
        return;
      case IcmpType.DEST_UNREACH:
        st.InDestUnreachs++;
        break;
      case IcmpType.TIME_EXCEEDED:
        st.InTimeExcds++;
        break;
      case IcmpType.PARAM_PROBLEM:
        st.InParmProbs++;
        break;
      case IcmpType.SOURCE_QUENCH:
        // RFC 6633: hosts MUST silently ignore source quench.
        st.InSrcQuenchs++;
        return;
      case IcmpType.REDIRECT:
        // RFC 1122 3.2.2.2 says a host SHOULD update its route; with one gateway and no
        // route cache we ignore redirects (as Linux does with accept_redirects=0).
        st.InRedirects++;
        return;
      case IcmpType.TIMESTAMP:
        // RFC 1122 3.2.2.8: MAY answer; we have no wall clock (Clock is monotonic), so we do not.
        st.InTimestamps++;
        return;
      case IcmpType.TIMESTAMP_REPLY:
        st.InTimestampReps++;
        return;
      default:
        // RFC 1122 3.2.2: "If an ICMP message of unknown type is received, it MUST be
        // silently discarded."
        st.InUnknownTypes++;
        return;
    }
    // Linux icmp_rcv: error messages sent to a broadcast address are bogus.
    if (v.broadcast) {
      st.InErrors++;
      return;
    }
    this.errorInput(v.quoted, m);
  }

  /**
   * RFC 1122 3.2.2.6: reply with the same identifier, sequence number and data (all of it,
   * however large: the reply is fragmented if need be), from the address the request was
   * sent to, with the request's TOS (RFC 1812 4.3.2.5). IP options are not reflected.
   */
  private echoReply(p: Ipv4Packet, m: IcmpPacket): void {
    const st = this.icmpStats;
    const msg = m.message;
    const out = this.scratch;
    out.set(msg, 0);
    // Type 8 -> 0 changes one 16-bit word of the message: update the checksum for it
    // (RFC 1624 eqn. 3) instead of summing the whole echo data again.
    const oldWord = readU16(out, IcmpOff.TYPE);
    out[IcmpOff.TYPE] = IcmpType.ECHO_REPLY;
    out[IcmpOff.CODE] = 0;
    writeU16(out, IcmpOff.CHECKSUM, updateChecksum16(readU16(out, IcmpOff.CHECKSUM), oldWord, readU16(out, IcmpOff.TYPE)));
    st.OutMsgs++;
    st.OutEchoReps++;
    if (this.send(p.src, IpProto.ICMP, msg.length, { tos: p.tos }) !== undefined) st.OutErrors++;
  }

  /** An ICMP error about a datagram we sent: PMTU, then the transport that sent it (RFC 1122 3.2.2.1). */
  private errorInput(q: Ipv4Packet, m: IcmpPacket): void {
    const st = this.icmpStats;
    const err = q.resetQuoted(m.data);
    if (err !== undefined) {
      st.InErrors++;
      if (this.debug) this.log('icmp', `drop: error type ${m.type} with a bad quote (${err})`);
      return;
    }
    if (!this.route.isLocal(q.src)) {
      st.InErrors++;
      if (this.debug) this.log('icmp', `drop: error quotes a datagram from ${ipToString(q.src)}, not us`);
      return;
    }
    const type = m.type;
    const code = m.code;
    const dst = q.dst;
    let mtu = 0;
    if (type === IcmpType.DEST_UNREACH && code === UnreachCode.FRAG_NEEDED) {
      // RFC 1191 section 3: lower the estimate for dst (never below 68, never raised).
      const adopted = this.pmtu.update(dst, this.pathMtu(dst), m.nextHopMtu, q.totalLength, this.clock.now());
      mtu = this.pathMtu(dst);
      if (this.debug) {
        this.log('icmp', `frag needed toward ${ipToString(dst)}: next hop ${m.nextHopMtu}, path MTU now ${mtu}${adopted === undefined ? ' (unchanged)' : ''}`);
      }
    }
    const errno = icmpErrno(type, code);
    // Only the first fragment carries the transport header to demultiplex on.
    if (errno === undefined || q.fragmentOffset !== 0) return;
    const quoted = q.payload;
    if (q.protocol === IpProto.ICMP) {
      if (quoted[IcmpOff.TYPE] === IcmpType.ECHO_REQUEST) this.echo.get(readU16(quoted, IcmpOff.ID))?.error(dst, readU16(quoted, IcmpOff.SEQ), errno);
      return;
    }
    this.handlers[q.protocol]?.receiveIcmpError({ type, code, errno, nextHopMtu: mtu, src: q.src, dst, quoted });
  }

  /**
   * Send an ICMP error about `orig`, unless RFC 1122 3.2.2 forbids it: "An ICMP error
   * message MUST NOT be sent as the result of receiving: an ICMP error message, or a
   * datagram destined to an IP broadcast or IP multicast address, or a datagram sent as
   * a link-layer broadcast, or a non-initial fragment, or a datagram whose source address
   * does not define a single host". `quiet` covers the two broadcast cases (the receive
   * path knows them). Rate-limited (RFC 1812 4.3.2.8). Returns whether it was sent.
   */
  private sendIcmpError(orig: Ipv4Packet, quiet: boolean, type: number, code: number, rest: number): boolean {
    const st = this.icmpStats;
    if (quiet || isMulticast(orig.dst)) return false;
    if (orig.fragmentOffset !== 0) return false;
    if (orig.protocol === IpProto.ICMP) {
      // An ICMP error, or a message of unknown type (treated like one, as Linux does).
      if (orig.payloadLength === 0) return false;
      const t = orig.datagram[orig.headerLength + IcmpOff.TYPE]!;
      if (!isIcmpQuery(t)) return false;
    }
    const to = orig.src;
    if (!this.route.isLocal(to) && !this.route.isUnicastSource(to)) return false;
    if (!this.icmpBucket.take(this.clock.now())) {
      st.OutRateLimited++;
      if (this.debug) this.log('icmp', `rate limited: type ${type} code ${code} to ${ipToString(to)}`);
      return false;
    }
    const len = emitIcmpError(this.scratch, 0, type, code, rest, orig.datagram);
    st.OutMsgs++;
    if (type === IcmpType.DEST_UNREACH) st.OutDestUnreachs++;
    else if (type === IcmpType.TIME_EXCEEDED) st.OutTimeExcds++;
    else if (type === IcmpType.PARAM_PROBLEM) st.OutParmProbs++;
    const err = this.send(to, IpProto.ICMP, len, { tos: TOS_INTERNETWORK_CONTROL });
    if (err !== undefined) st.OutErrors++;
    return err === undefined;
  }

  /** RFC 792 / RFC 1122 3.2.1.4 (MAY; Linux does): time exceeded, code 1, quoting the first fragment. */
  private reassemblyTimedOut(src: number, dst: number, quote: Uint8Array): void {
    if (this.closed) return;
    const q = new Ipv4Packet();
    if (q.resetQuoted(quote) !== undefined) return;
    this.sendIcmpError(q, this.route.isBroadcast(dst), IcmpType.TIME_EXCEEDED, TimeExceededCode.REASSEMBLY, 0);
    if (this.debug) this.log('icmp', `reassembly of a datagram from ${ipToString(src)} timed out`);
  }

  // ---------------------------------------------------------------- echo (ping.ts)

  /** Claim an echo identifier. False when it is taken. */
  registerEcho(id: number, listener: EchoListener): boolean {
    if (this.echo.has(id)) return false;
    this.echo.set(id, listener);
    return true;
  }

  unregisterEcho(id: number, listener: EchoListener): void {
    if (this.echo.get(id) === listener) this.echo.delete(id);
  }

  /** A free echo identifier, chosen at random. */
  allocEchoId(): number | undefined {
    for (let i = 0; i < 64; i++) {
      const id = this.rng.nextU32() & 0xffff;
      if (!this.echo.has(id)) return id;
    }
    return undefined;
  }

  /** Send an echo request with `data` as its payload. */
  sendEchoRequest(dst: number, id: number, seq: number, data: Uint8Array, opts?: IpSendOptions): ErrnoName | undefined {
    if (data.length + 8 > this.scratch.length) return 'EMSGSIZE';
    const len = emitEcho(this.scratch, 0, IcmpType.ECHO_REQUEST, id, seq, data);
    this.icmpStats.OutMsgs++;
    this.icmpStats.OutEchos++;
    const err = this.send(dst, IpProto.ICMP, len, opts);
    if (err !== undefined) this.icmpStats.OutErrors++;
    return err;
  }

  private log(layer: 'ip' | 'icmp', msg: string): void {
    this.logger.log(layer, msg);
  }
}
