/**
 * ARP for IPv4 over Ethernet (RFC 826), with the cache rules of RFC 1122 section 2.3.2.
 *
 * - ArpPacket: a view of the 28-byte Ethernet/IPv4 ARP packet, parse() for untrusted input.
 * - ArpCache: neighbour entries (incomplete / reachable / stale / failed), a bounded queue of
 *   datagrams per unresolved neighbour, request retries, unicast refresh of stale entries,
 *   answers to requests for our address and the gratuitous announcement. One Timer serves
 *   the whole cache, armed for the earliest entry deadline.
 *
 * Addresses are IPv4 numbers in host order (10.77.0.2 = 0x0a4d0002).
 */
import { readU16, readU32, writeU16, writeU32 } from '../core/bytes.js';
import type { Clock, Timer } from '../core/clock.js';
import { counters } from '../core/counters.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger, type Logger } from '../core/log.js';
import { LIMITED_BROADCAST, ipToString, isLoopback, isMulticast, isThisNetwork } from '../core/ipaddr.js';
import { ETH_HEADER_LEN, ETH_OFF_DST, ETH_OFF_SRC, ETH_OFF_TYPE, EtherType, ParseError } from './ethernet.js';
import { MAC_LEN, copyMac, formatMac, isMulticastMac, isZeroMac, macEquals, writeBroadcastMac } from './mac.js';

// ---- Packet layout (RFC 826 "Packet format", Ethernet hardware, IPv4 protocol) ----
const OFF_HTYPE = 0; // ar$hrd
const OFF_PTYPE = 2; // ar$pro
const OFF_HLEN = 4; // ar$hln
const OFF_PLEN = 5; // ar$pln
const OFF_OP = 6; // ar$op
const OFF_SHA = 8; // ar$sha
const OFF_SPA = 14; // ar$spa
const OFF_THA = 18; // ar$tha
const OFF_TPA = 24; // ar$tpa
export const ARP_LEN = 28;

export const ARP_HTYPE_ETHERNET = 1;
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

/** A validated Ethernet/IPv4 ARP packet. Trailing bytes (Ethernet padding) are ignored. */
export class ArpPacket {
  private readonly b: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.b = bytes;
  }

  /**
   * RFC 826 reception: "?Do I have the hardware type in ar$hrd? ... [optionally check the
   * hardware length ar$hln] ?Do I speak the protocol in ar$pro? ... [optionally check the
   * protocol length ar$pln]". We check all four, and the opcode, before anything else.
   */
  static parse(bytes: Uint8Array): ArpPacket | ParseError {
    if (bytes.length < ARP_LEN) return new ParseError(`ARP packet of ${bytes.length} bytes, need ${ARP_LEN}`);
    const htype = readU16(bytes, OFF_HTYPE);
    if (htype !== ARP_HTYPE_ETHERNET) return new ParseError(`ARP hardware type ${htype}, want 1 (Ethernet)`);
    const ptype = readU16(bytes, OFF_PTYPE);
    if (ptype !== EtherType.IPv4) return new ParseError(`ARP protocol type 0x${ptype.toString(16)}, want 0x0800`);
    if (bytes[OFF_HLEN] !== MAC_LEN) return new ParseError(`ARP hardware length ${bytes[OFF_HLEN]}, want 6`);
    if (bytes[OFF_PLEN] !== 4) return new ParseError(`ARP protocol length ${bytes[OFF_PLEN]}, want 4`);
    const op = readU16(bytes, OFF_OP);
    if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return new ParseError(`ARP opcode ${op}, want 1 or 2`);
    return new ArpPacket(bytes);
  }

  get op(): number {
    return readU16(this.b, OFF_OP);
  }
  get senderMac(): Uint8Array {
    return this.b.subarray(OFF_SHA, OFF_SHA + MAC_LEN);
  }
  get senderIp(): number {
    return readU32(this.b, OFF_SPA);
  }
  get targetMac(): Uint8Array {
    return this.b.subarray(OFF_THA, OFF_THA + MAC_LEN);
  }
  get targetIp(): number {
    return readU32(this.b, OFF_TPA);
  }
  get bytes(): Uint8Array {
    return this.b.subarray(0, ARP_LEN);
  }

  toString(): string {
    const s = `${ipToString(this.senderIp)} (${formatMac(this.b, OFF_SHA)})`;
    return this.op === ArpOp.REQUEST
      ? `ARP who-has ${ipToString(this.targetIp)} tell ${s}`
      : `ARP reply ${s} to ${ipToString(this.targetIp)} (${formatMac(this.b, OFF_THA)})`;
  }
}

/** Write a 28-byte Ethernet/IPv4 ARP packet at buf[off, off+28). */
export function emitArp(
  buf: Uint8Array,
  off: number,
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array | undefined,
  targetIp: number,
): void {
  writeU16(buf, off + OFF_HTYPE, ARP_HTYPE_ETHERNET);
  writeU16(buf, off + OFF_PTYPE, EtherType.IPv4);
  buf[off + OFF_HLEN] = MAC_LEN;
  buf[off + OFF_PLEN] = 4;
  writeU16(buf, off + OFF_OP, op);
  copyMac(buf, off + OFF_SHA, senderMac);
  writeU32(buf, off + OFF_SPA, senderIp);
  if (targetMac === undefined) buf.fill(0, off + OFF_THA, off + OFF_THA + MAC_LEN);
  else copyMac(buf, off + OFF_THA, targetMac);
  writeU32(buf, off + OFF_TPA, targetIp);
}

// ---------------------------------------------------------------------------------------
// The cache
// ---------------------------------------------------------------------------------------

export interface ArpOptions {
  /** How long a confirmed entry is used without question (Linux base_reachable_time: 30 s). */
  reachableMs?: number;
  /** How long an unused stale entry is kept before it is removed (Linux gc_stale_time: 60 s). */
  staleMs?: number;
  /** Interval between requests for one address (RFC 1122: at most 1 per second). */
  retransMs?: number;
  /** Broadcast requests before resolution fails (Linux mcast_solicit: 3). */
  maxRequests?: number;
  /** Unicast requests refreshing a stale entry before it is removed (Linux ucast_solicit: 3). */
  maxProbes?: number;
  /** After a failed resolution, sends to that address fail at once with EHOSTUNREACH for this long. */
  failedHoldMs?: number;
  /**
   * Datagrams queued per unresolved neighbour. Enough for every fragment of one 64 KB
   * datagram over a 1500-byte MTU (45), so the first datagram to a new neighbour is not
   * cut to its last few fragments (lwIP keeps 3; Linux bounds the queue in bytes,
   * unres_qlen_bytes = 208 KB).
   */
  queuePerNeighbour?: number;
  /** Datagrams queued over all neighbours. */
  queueTotal?: number;
  /** Bytes queued over all neighbours (copies of the datagrams). */
  queueBytes?: number;
  /** Bound on cache entries. */
  maxEntries?: number;
}

export const ARP_DEFAULTS: Required<ArpOptions> = {
  reachableMs: 30_000,
  staleMs: 60_000,
  retransMs: 1_000,
  maxRequests: 3,
  maxProbes: 3,
  failedHoldMs: 3_000,
  queuePerNeighbour: 64,
  queueTotal: 256,
  queueBytes: 1024 * 1024,
  maxEntries: 512,
};

/** What the cache needs from its interface. */
export interface ArpHost {
  /** Transmit a complete Ethernet frame holding an ARP packet (valid only during the call). */
  transmitArp(frame: Uint8Array): void;
  /** Resolution completed: transmit a datagram that waited for it. */
  transmitQueued(nextHop: number, mac: Uint8Array, datagram: Uint8Array): void;
  /** Resolution failed (EHOSTUNREACH): called once per datagram that waited for it. */
  resolutionFailed(nextHop: number, datagram: Uint8Array): void;
}

export type ArpState = 'incomplete' | 'reachable' | 'stale' | 'failed';

interface Queued {
  readonly data: Uint8Array;
  /** Global enqueue order, to find the oldest datagram over all neighbours. */
  readonly order: number;
}

interface Entry {
  readonly ip: number;
  readonly mac: Uint8Array;
  state: ArpState;
  /** When the timer must next look at this entry (see expire()). */
  deadline: number;
  /** Requests sent in the current resolution (incomplete) or refresh (stale, probing). */
  probes: number;
  /** A stale entry being refreshed by unicast requests. */
  probing: boolean;
  /** Last time the entry was created or confirmed: eviction picks the oldest. */
  updated: number;
  queue: Queued[];
}

export interface ArpEntryInfo {
  ip: string;
  mac: string;
  state: ArpState;
  /** Ms until the entry's next transition. */
  expiresInMs: number;
  queued: number;
}

export const ARP_COUNTERS = [
  'requestsSent',
  'requestsReceived',
  'repliesSent',
  'repliesReceived',
  'gratuitousSent',
  'probesSent',
  'resolutionFailures',
  'queuedFailed',
  'queueDrops',
  'unreachableDrops',
  'refreshFailures',
  'evictions',
  'conflicts',
  'badPackets',
] as const;

const ARP_FRAME_LEN = ETH_HEADER_LEN + ARP_LEN;
/** Eviction prefers failed, then stale, reachable, and last incomplete entries. */
const EVICTION_RANK = { failed: 0, stale: 1, reachable: 2, incomplete: 3 } as const satisfies Record<ArpState, number>;

export class ArpCache {
  readonly counters = counters(ARP_COUNTERS);
  private readonly opts: Required<ArpOptions>;
  private readonly entries = new Map<number, Entry>();
  private readonly timer: Timer;
  private readonly tx = new Uint8Array(ARP_FRAME_LEN);
  private readonly zeroMac = new Uint8Array(MAC_LEN);
  private readonly host: ArpHost;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly mac: Uint8Array;
  private ip = 0;
  private queuedTotal = 0;
  private queuedBytes = 0;
  private queueOrder = 0;

  constructor(host: ArpHost, clock: Clock, mac: Uint8Array, opts: ArpOptions = {}, logger: Logger = silentLogger) {
    this.host = host;
    this.clock = clock;
    this.mac = mac;
    this.logger = logger;
    this.opts = { ...ARP_DEFAULTS, ...opts };
    this.timer = clock.createTimer(() => this.onTimer());
  }

  get localIp(): number {
    return this.ip;
  }
  set localIp(ip: number) {
    this.ip = ip >>> 0;
  }

  /**
   * Hot path: the MAC for `ip` when the entry is usable (reachable or stale), else undefined.
   * The returned array belongs to the cache: copy it out at once.
   *
   * RFC 1122 2.3.2.1 "Unicast Poll -- Actively poll the remote host by periodically sending
   * a point-to-point ARP Request to it, and delete the entry if no ARP Reply is received
   * from N successive polls." A stale entry is still used; its first use starts the poll.
   */
  lookup(ip: number): Uint8Array | undefined {
    const e = this.entries.get(ip);
    if (e === undefined) return undefined;
    if (e.state === 'reachable') return e.mac;
    if (e.state !== 'stale') return undefined;
    if (!e.probing) {
      e.probing = true;
      e.probes = 1;
      this.sendRequest(ip, e.mac);
      this.counters.probesSent++;
      this.schedule(e, this.clock.now() + this.opts.retransMs);
    }
    return e.mac;
  }

  /**
   * Slow path after lookup() missed: keep a COPY of `datagram` until `ip` resolves, starting
   * resolution if needed. Returns EHOSTUNREACH while a failed resolution is held down, and
   * ENOBUFS when the datagram cannot be queued at all (larger than queueBytes).
   *
   * RFC 1122 2.3.2.2: "The link layer SHOULD save (rather than discard) at least one (the
   * latest) packet of each set of packets destined to the same unresolved IP address, and
   * transmit the saved packet when the address has been resolved." We keep the latest
   * `queuePerNeighbour`, and at most `queueTotal` datagrams and `queueBytes` bytes over all
   * neighbours; overflow drops the oldest (counted queueDrops).
   */
  enqueue(ip: number, datagram: Uint8Array): ErrnoName | undefined {
    let e = this.entries.get(ip);
    if (e !== undefined && e.state === 'failed') {
      this.counters.unreachableDrops++;
      return 'EHOSTUNREACH';
    }
    if (datagram.length > this.opts.queueBytes || this.opts.queuePerNeighbour <= 0) {
      this.counters.queueDrops++;
      return 'ENOBUFS';
    }
    if (e === undefined) {
      e = this.create(ip, 'incomplete');
      // RFC 1122 2.3.2.1: "A mechanism to prevent ARP flooding (repeatedly sending an ARP
      // Request for the same IP address, at a high rate) MUST be included. The recommended
      // maximum rate is 1 per second per destination." One request now, the next after retransMs.
      e.probes = 1;
      this.sendRequest(ip, undefined);
      this.schedule(e, this.clock.now() + this.opts.retransMs);
    } else if (e.state !== 'incomplete') {
      // Usable entry: the caller should have used lookup(); send at once rather than queue.
      this.host.transmitQueued(ip, e.mac, datagram);
      return undefined;
    }
    const o = this.opts;
    if (e.queue.length >= o.queuePerNeighbour) this.dropOldest(e);
    while (this.queuedTotal >= o.queueTotal || this.queuedBytes + datagram.length > o.queueBytes) {
      if (!this.dropOldestGlobal()) break;
    }
    e.queue.push({ data: datagram.slice(), order: this.queueOrder++ });
    this.queuedTotal++;
    this.queuedBytes += datagram.length;
    return undefined;
  }

  /** RFC 5227 section 2.3 ARP Announcement (gratuitous ARP): a request with sender and target IP both ours. */
  announce(): void {
    if (this.ip === 0) return;
    this.buildFrame(undefined, ArpOp.REQUEST, undefined, this.ip);
    this.counters.gratuitousSent++;
    if (this.logger.enabled('arp')) this.logger.log('arp', `announce ${ipToString(this.ip)} is-at ${formatMac(this.mac)}`);
    this.host.transmitArp(this.tx);
  }

  /**
   * An ARP packet from the wire (the Ethernet payload, padding included). Never throws.
   * Every packet ends in exactly one of badPackets, requestsReceived, repliesReceived.
   */
  input(payload: Uint8Array): void {
    const p = ArpPacket.parse(payload);
    if (p instanceof ParseError) return this.bad(p.reason);
    const op = p.op;
    const spa = p.senderIp;
    const tpa = p.targetIp;
    const sha = p.senderMac;
    if (isMulticastMac(sha) || isZeroMac(sha)) return this.bad(`sender MAC ${formatMac(sha)} is not a unicast address`);
    // A sender address that cannot be one host's (RFC 1122 3.2.1.3): never learned, never
    // answered (Linux: the route lookup for such a source fails, so arp_process drops it).
    // 0.0.0.0 itself is the RFC 5227 probe, handled below.
    if (spa !== 0 && (isThisNetwork(spa) || isLoopback(spa) || isMulticast(spa) || spa === LIMITED_BROADCAST)) {
      return this.bad(`sender address ${ipToString(spa)} is not a unicast host address`);
    }
    if (op === ArpOp.REQUEST) this.counters.requestsReceived++;
    else this.counters.repliesReceived++;
    if (this.ip !== 0 && spa === this.ip) {
      // Someone else claims our address (RFC 5227 section 2.4 conflict detection); never learn it.
      if (!macEquals(sha, 0, this.mac)) {
        this.counters.conflicts++;
        if (this.logger.enabled('arp')) this.logger.log('arp', `address conflict: ${ipToString(spa)} claimed by ${formatMac(sha)}`);
      }
      return;
    }
    const targetsUs = this.ip !== 0 && tpa === this.ip;

    /*
     * RFC 826 "Packet Reception":
     *   Merge_flag := false
     *   If the pair <protocol type, sender protocol address> is already in my translation
     *   table, update the sender hardware address field of the entry with the new
     *   information in the packet and set Merge_flag to true.
     *   ?Am I the target protocol address?
     *   Yes: If Merge_flag is false, add the triplet <protocol type, sender protocol
     *        address, sender hardware address> to the translation table.
     * A sender address of 0.0.0.0 is an RFC 5227 probe: nothing to learn.
     */
    if (spa !== 0) {
      let e = this.entries.get(spa);
      if (e === undefined && targetsUs) e = this.create(spa, 'incomplete');
      if (e !== undefined) this.learn(e, sha, targetsUs);
    }

    /*
     * RFC 826: "?Is the opcode ares_op$REQUEST? (NOW look at the opcode!!) Yes: Swap hardware
     * and protocol fields, putting the local hardware and protocol addresses in the sender
     * fields. Set the ar$op field to ares_op$REPLY. Send the packet to the (new) target
     * hardware address on the same hardware on which the request was received."
     */
    if (targetsUs && op === ArpOp.REQUEST) {
      this.buildFrame(sha, ArpOp.REPLY, sha, spa);
      this.counters.repliesSent++;
      this.host.transmitArp(this.tx);
    }
  }

  /** The cache as `ip neigh` would show it (for the CLI and tests). */
  dump(): ArpEntryInfo[] {
    const now = this.clock.now();
    return [...this.entries.values()].map((e) => ({
      ip: ipToString(e.ip),
      mac: e.state === 'incomplete' ? '' : formatMac(e.mac),
      state: e.state,
      expiresInMs: e.deadline - now,
      queued: e.queue.length,
    }));
  }

  state(ip: number): ArpState | undefined {
    return this.entries.get(ip)?.state;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Datagrams waiting for resolution, over all neighbours. */
  get queued(): number {
    return this.queuedTotal;
  }

  /** Forget everything (queued datagrams are dropped silently) and stop the timer. */
  clear(): void {
    this.entries.clear();
    this.queuedTotal = 0;
    this.queuedBytes = 0;
    this.timer.cancel();
  }

  // ---- internals ----

  /**
   * Update `e` with a sender hardware address seen on the wire. A first answer, or any ARP
   * packet addressed to us, confirms the neighbour (reachable). RFC 1122 2.3.2.1 (Timeout):
   * "this timeout should be restarted when the cache entry is 'refreshed' (by observing the
   * source fields, regardless of target address, of an ARP broadcast from the system in
   * question)". A MAC change seen in a packet not for us is taken but left stale, so the
   * next use verifies it with a unicast request.
   */
  private learn(e: Entry, sha: Uint8Array, targetsUs: boolean): void {
    const now = this.clock.now();
    const unresolved = e.state === 'incomplete' || e.state === 'failed';
    const changed = !macEquals(e.mac, 0, sha);
    copyMac(e.mac, 0, sha);
    e.probing = false;
    e.probes = 0;
    e.updated = now;
    if (unresolved || targetsUs || !changed) {
      e.state = 'reachable';
      this.schedule(e, now + this.opts.reachableMs);
    } else {
      e.state = 'stale';
      this.schedule(e, now + this.opts.staleMs);
    }
    if (e.queue.length > 0) {
      const q = this.takeQueue(e);
      for (const item of q) this.host.transmitQueued(e.ip, e.mac, item.data);
    }
  }

  private create(ip: number, state: ArpState): Entry {
    if (this.entries.size >= this.opts.maxEntries) this.evict();
    const e: Entry = {
      ip,
      mac: new Uint8Array(MAC_LEN),
      state,
      deadline: Infinity,
      probes: 0,
      probing: false,
      updated: this.clock.now(),
      queue: [],
    };
    this.entries.set(ip, e);
    return e;
  }

  /** Make room: the oldest failed entry, else the oldest stale, else reachable, else incomplete. */
  private evict(): void {
    const rank = EVICTION_RANK;
    let victim: Entry | undefined;
    for (const e of this.entries.values()) {
      if (victim === undefined || rank[e.state] < rank[victim.state] || (rank[e.state] === rank[victim.state] && e.updated < victim.updated)) {
        victim = e;
      }
    }
    if (victim === undefined) return;
    this.counters.evictions++;
    this.counters.queueDrops += this.takeQueue(victim).length;
    this.entries.delete(victim.ip);
    if (this.logger.enabled('arp')) this.logger.log('arp', `cache full (${this.opts.maxEntries}): evicted ${victim.state} ${ipToString(victim.ip)}`);
  }

  /** Detach e's queue and take it off the totals. */
  private takeQueue(e: Entry): Queued[] {
    const q = e.queue;
    if (q.length === 0) return q;
    e.queue = [];
    this.queuedTotal -= q.length;
    for (const item of q) this.queuedBytes -= item.data.length;
    return q;
  }

  private dropOldest(e: Entry): void {
    const item = e.queue.shift();
    if (item === undefined) return;
    this.queuedTotal--;
    this.queuedBytes -= item.data.length;
    this.counters.queueDrops++;
    if (this.logger.enabled('arp')) this.logger.log('arp', `queue for ${ipToString(e.ip)} full (${this.opts.queuePerNeighbour}): dropped the oldest datagram`);
  }

  /** Drop the oldest datagram over all neighbours; false when nothing is queued. */
  private dropOldestGlobal(): boolean {
    let victim: Entry | undefined;
    let oldest = Infinity;
    for (const e of this.entries.values()) {
      const head = e.queue[0];
      if (head !== undefined && head.order < oldest) {
        oldest = head.order;
        victim = e;
      }
    }
    if (victim === undefined) return false;
    const item = victim.queue.shift()!;
    this.queuedTotal--;
    this.queuedBytes -= item.data.length;
    this.counters.queueDrops++;
    if (this.logger.enabled('arp')) {
      this.logger.log('arp', `resolution queue full (${this.opts.queueTotal} datagrams, ${this.opts.queueBytes} bytes): dropped the oldest (for ${ipToString(victim.ip)})`);
    }
    return true;
  }

  /** Request for `ip`: broadcast when `unicastTo` is undefined, else a unicast poll to that MAC. */
  private sendRequest(ip: number, unicastTo: Uint8Array | undefined): void {
    this.buildFrame(unicastTo, ArpOp.REQUEST, undefined, ip);
    this.counters.requestsSent++;
    if (this.logger.enabled('arp')) {
      this.logger.log('arp', `who-has ${ipToString(ip)} tell ${ipToString(this.ip)}${unicastTo ? ` (unicast to ${formatMac(unicastTo)})` : ''}`);
    }
    this.host.transmitArp(this.tx);
  }

  /** ARP frame into this.tx. Ethernet destination: `ethDst`, or broadcast when undefined. */
  private buildFrame(ethDst: Uint8Array | undefined, op: number, tha: Uint8Array | undefined, tpa: number): void {
    if (ethDst === undefined) writeBroadcastMac(this.tx, ETH_OFF_DST);
    else copyMac(this.tx, ETH_OFF_DST, ethDst);
    copyMac(this.tx, ETH_OFF_SRC, this.mac);
    this.tx[ETH_OFF_TYPE] = EtherType.ARP >>> 8;
    this.tx[ETH_OFF_TYPE + 1] = EtherType.ARP & 0xff;
    emitArp(this.tx, ETH_HEADER_LEN, op, this.mac, this.ip, tha ?? this.zeroMac, tpa);
  }

  private bad(reason: string): void {
    this.counters.badPackets++;
    if (this.logger.enabled('arp')) this.logger.log('arp', `drop: ${reason}`);
  }

  private schedule(e: Entry, deadline: number): void {
    e.deadline = deadline;
    const armed = this.timer.deadline;
    if (armed === undefined || deadline < armed) this.timer.arm(deadline);
  }

  private onTimer(): void {
    const now = this.clock.now();
    const due: Entry[] = [];
    for (const e of this.entries.values()) if (e.deadline <= now) due.push(e);
    // Host callbacks may re-enter (send again, learn); re-check each entry before acting.
    for (const e of due) if (this.entries.get(e.ip) === e && e.deadline <= now) this.expire(e, now);
    let next = Infinity;
    for (const e of this.entries.values()) if (e.deadline < next) next = e.deadline;
    if (next === Infinity) this.timer.cancel();
    else this.timer.arm(next);
  }

  private expire(e: Entry, now: number): void {
    const o = this.opts;
    switch (e.state) {
      case 'incomplete':
        if (e.probes < o.maxRequests) {
          e.probes++;
          e.deadline = now + o.retransMs;
          this.sendRequest(e.ip, undefined);
        } else {
          this.fail(e, now);
        }
        return;
      case 'reachable':
        e.state = 'stale';
        e.probing = false;
        e.deadline = now + o.staleMs;
        return;
      case 'stale':
        if (!e.probing) {
          this.entries.delete(e.ip); // unused for staleMs: garbage
        } else if (e.probes < o.maxProbes) {
          e.probes++;
          e.deadline = now + o.retransMs;
          this.counters.probesSent++;
          this.sendRequest(e.ip, e.mac);
        } else {
          // "delete the entry if no ARP Reply is received from N successive polls"
          this.counters.refreshFailures++;
          this.entries.delete(e.ip);
          if (this.logger.enabled('arp')) this.logger.log('arp', `${ipToString(e.ip)} did not answer ${o.maxProbes} unicast polls: entry removed`);
        }
        return;
      case 'failed':
        this.entries.delete(e.ip);
        return;
    }
  }

  /** Resolution failed after maxRequests: every waiting datagram goes back up with EHOSTUNREACH. */
  private fail(e: Entry, now: number): void {
    const q = this.takeQueue(e);
    e.state = 'failed';
    e.deadline = now + this.opts.failedHoldMs;
    this.counters.resolutionFailures++;
    if (this.logger.enabled('arp')) this.logger.log('arp', `${ipToString(e.ip)} unresolved after ${e.probes} requests: ${q.length} datagram(s) EHOSTUNREACH`);
    for (const item of q) {
      this.counters.queuedFailed++;
      this.host.resolutionFailed(e.ip, item.data);
    }
  }
}
