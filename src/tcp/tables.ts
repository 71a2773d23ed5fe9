/**
 * The layer's lookup structures: connections by 4-tuple (a hash of the tuple into a Map,
 * chained through nextInBucket, so a lookup allocates nothing), the port table that bind(),
 * listen() and connect() reserve ports in (Linux's bind hash), and the compact TIME-WAIT
 * record that stands in for a closed connection in both (Linux's inet_timewait_sock).
 */
import { seq, seqAdd } from '../core/seq.js';
import { Connection, type ConnectionInit } from './connection.js';
import type { TcpContext } from './context.js';
import { TcpFlag, type Segment } from './header.js';
import { SackRecovery } from './recovery/sack.js';

/** What the connection table holds: a Connection, or the TIME-WAIT record of a closed one. */
export type ConnEntry = Connection | TimeWait;

function tupleHash(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
  let h = Math.imul(remoteAddr ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(((localPort << 16) | remotePort) ^ 0x27d4eb2f, 0xc2b2ae35);
  h ^= Math.imul(localAddr, 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

export class ConnTable {
  private readonly buckets = new Map<number, ConnEntry>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): ConnEntry | undefined {
    let c = this.buckets.get(tupleHash(localAddr, localPort, remoteAddr, remotePort));
    while (c !== undefined) {
      if (c.remotePort === remotePort && c.localPort === localPort && c.remoteAddr === remoteAddr && c.localAddr === localAddr) {
        return c;
      }
      c = c.nextInBucket;
    }
    return undefined;
  }

  add(c: ConnEntry): void {
    const h = tupleHash(c.localAddr, c.localPort, c.remoteAddr, c.remotePort);
    c.nextInBucket = this.buckets.get(h);
    this.buckets.set(h, c);
    this.count++;
  }

  remove(c: ConnEntry): boolean {
    const h = tupleHash(c.localAddr, c.localPort, c.remoteAddr, c.remotePort);
    let p = this.buckets.get(h);
    let prev: ConnEntry | undefined;
    while (p !== undefined && p !== c) {
      prev = p;
      p = p.nextInBucket;
    }
    if (p === undefined) return false;
    if (prev === undefined) {
      if (c.nextInBucket === undefined) this.buckets.delete(h);
      else this.buckets.set(h, c.nextInBucket);
    } else {
      prev.nextInBucket = c.nextInBucket;
    }
    c.nextInBucket = undefined;
    this.count--;
    return true;
  }

  /** Put `next` (same 4-tuple) where `old` is. False when `old` is not in the table. */
  replace(old: ConnEntry, next: ConnEntry): boolean {
    const h = tupleHash(old.localAddr, old.localPort, old.remoteAddr, old.remotePort);
    let p = this.buckets.get(h);
    let prev: ConnEntry | undefined;
    while (p !== undefined && p !== old) {
      prev = p;
      p = p.nextInBucket;
    }
    if (p === undefined) return false;
    next.nextInBucket = old.nextInBucket;
    old.nextInBucket = undefined;
    if (prev === undefined) this.buckets.set(h, next);
    else prev.nextInBucket = next;
    return true;
  }

  *values(): IterableIterator<ConnEntry> {
    for (const head of this.buckets.values()) {
      for (let c: ConnEntry | undefined = head; c !== undefined; c = c.nextInBucket) yield c;
    }
  }
}

/** One holder of a local port. */
export interface PortUser {
  addr: number;
  reuse: boolean;
  kind: 'bind' | 'listen' | 'conn';
  /** For 'conn': its state (a TIME-WAIT holder yields to SO_REUSEADDR). */
  conn?: { readonly state: string };
  /** Index in its port's list (kept by PortTable, for O(1) removal). */
  slot?: number;
}

export class PortTable {
  private readonly ports = new Map<number, PortUser[]>();

  /** Ports with at least one holder. */
  get size(): number {
    return this.ports.size;
  }

  users(port: number): readonly PortUser[] {
    return this.ports.get(port) ?? [];
  }

  inUse(port: number): boolean {
    return (this.ports.get(port)?.length ?? 0) > 0;
  }

  /**
   * Linux-like bind conflict: the addresses overlap (equal or either is 0.0.0.0) and not
   * (both sides set SO_REUSEADDR and the holder is not listening), and the holder is not a
   * TIME-WAIT connection that SO_REUSEADDR may take over.
   */
  conflicts(addr: number, port: number, reuse: boolean): boolean {
    for (const u of this.users(port)) {
      if (u.addr !== 0 && addr !== 0 && u.addr !== addr) continue;
      if (reuse && u.kind === 'conn' && u.conn?.state === 'TIME-WAIT') continue;
      if (reuse && u.reuse && u.kind !== 'listen') continue;
      return true;
    }
    return false;
  }

  add(port: number, u: PortUser): void {
    let list = this.ports.get(port);
    if (list === undefined) {
      list = [];
      this.ports.set(port, list);
    }
    u.slot = list.length;
    list.push(u);
  }

  /** Put `next` in `old`'s place (O(1)). */
  replace(port: number, old: PortUser, next: PortUser): void {
    const list = this.ports.get(port);
    const i = list === undefined ? -1 : old.slot !== undefined && list[old.slot] === old ? old.slot : list.indexOf(old);
    if (i < 0) {
      this.add(port, next);
      return;
    }
    list![i] = next;
    next.slot = i;
    old.slot = undefined;
  }

  /** Remove in O(1) (a listening port may have thousands of connections): the last entry takes u's slot. */
  remove(port: number, u: PortUser): void {
    const list = this.ports.get(port);
    if (list === undefined) return;
    const i = u.slot !== undefined && list[u.slot] === u ? u.slot : list.indexOf(u);
    if (i < 0) return;
    const last = list.pop()!;
    if (last !== u) {
      list[i] = last;
      last.slot = i;
    }
    u.slot = undefined;
    if (list.length === 0) this.ports.delete(port);
  }

  /** A 'bind' reservation for (addr, port), if any. */
  findBind(addr: number, port: number): PortUser | undefined {
    return this.users(port).find((u) => u.kind === 'bind' && u.addr === addr);
  }
}

/** Where a Connection reports that it sits in TIME-WAIT with nobody using it (the TcpLayer). */
export interface TimeWaitSink {
  orphanedTimeWait(c: Connection): void;
}

/** Flags of a TimeWait record. */
const TW_PASSIVE = 1;
const TW_WS_OK = 2;
const TW_SACK_OK = 4;
const TW_TS_OK = 8;
const TW_REUSE = 16;

/**
 * A connection in TIME-WAIT that its application has closed (RFC 9293 3.10.7.4: it only
 * waits for 2*MSL and answers old duplicates), reduced to what TIME-WAIT needs, like
 * Linux's inet_timewait_sock: it replaces the Connection in the connection table and in the
 * port table (it holds the port; SO_REUSEADDR may take it over). Sequence numbers are kept as
 * int32 (no boxed numbers). A segment for it brings the Connection back (TcpLayer.revive)
 * so every rule of input.ts applies unchanged; the layer compacts it again if it stays in
 * TIME-WAIT. `ref` points weakly to the Connection it came from: whoever still holds that
 * object sees it reach CLOSED when the record expires; nobody holding it, it is collected.
 */
export class TimeWait implements PortUser {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  nextInBucket: ConnEntry | undefined = undefined;
  // PortUser
  readonly addr: number;
  slot: number | undefined = undefined;
  // The TCB, int32 where a sequence number
  readonly iss: number;
  readonly irs: number;
  readonly sndMax: number;
  readonly sndWnd: number;
  readonly sndWl1: number;
  readonly sndWl2: number;
  readonly maxSndWnd: number;
  readonly rcvNxt: number;
  readonly rcvAdv: number;
  readonly lastAckSent: number;
  readonly tsRecent: number;
  readonly tsRecentAge: number;
  readonly sndWscale: number;
  readonly rcvWscale: number;
  readonly mssClamp: number;
  readonly advMss: number;
  readonly peerMss: number;
  readonly rcvCapacity: number;
  private readonly flags: number;
  /** When TIME-WAIT ends (clock ms). */
  readonly expiry: number;
  readonly ref: WeakRef<Connection>;
  /** Revived or expired: no longer in the tables (its heap entry is skipped). */
  dead = false;

  constructor(c: Connection, user: PortUser | undefined, expiry: number) {
    this.localAddr = c.localAddr;
    this.localPort = c.localPort;
    this.remoteAddr = c.remoteAddr;
    this.remotePort = c.remotePort;
    this.addr = user !== undefined ? user.addr : c.localAddr;
    this.iss = c.iss | 0;
    this.irs = c.irs | 0;
    this.sndMax = c.sndMax | 0;
    this.sndWnd = c.sndWnd;
    this.sndWl1 = c.sndWl1 | 0;
    this.sndWl2 = c.sndWl2 | 0;
    this.maxSndWnd = c.maxSndWnd;
    this.rcvNxt = c.rcvNxt | 0;
    this.rcvAdv = c.rcvAdv | 0;
    this.lastAckSent = c.lastAckSent | 0;
    this.tsRecent = c.tsRecent | 0;
    this.tsRecentAge = c.tsRecentAge;
    this.sndWscale = c.sndWscale;
    this.rcvWscale = c.rcvWscale;
    this.mssClamp = c.mssClamp;
    this.advMss = c.advMss;
    this.peerMss = c.peerMss;
    this.rcvCapacity = c.rcvCapacity;
    this.flags =
      (c.passive ? TW_PASSIVE : 0) |
      (c.wsOk ? TW_WS_OK : 0) |
      (c.sackOk ? TW_SACK_OK : 0) |
      (c.tsOk ? TW_TS_OK : 0) |
      (user === undefined || user.reuse ? TW_REUSE : 0);
    this.expiry = expiry;
    this.ref = new WeakRef(c);
  }

  get state(): 'TIME-WAIT' {
    return 'TIME-WAIT';
  }
  get kind(): 'conn' {
    return 'conn';
  }
  get reuse(): boolean {
    return (this.flags & TW_REUSE) !== 0;
  }
  /** PortUser.conn: the record itself (its state is TIME-WAIT). */
  get conn(): { readonly state: string } {
    return this;
  }
  get passive(): boolean {
    return (this.flags & TW_PASSIVE) !== 0;
  }
  get wsOk(): boolean {
    return (this.flags & TW_WS_OK) !== 0;
  }
  get sackOk(): boolean {
    return (this.flags & TW_SACK_OK) !== 0;
  }
  get tsOk(): boolean {
    return (this.flags & TW_TS_OK) !== 0;
  }

  /**
   * May this SYN reopen the connection (RFC 9293 MAY-2, RFC 6191; Linux
   * tcp_timewait_state_process)? The rule of input.ts timeWaitAcceptsSyn, on the record:
   * not rejected by PAWS (an older TSval is an old duplicate), and either its sequence
   * number is above RCV.NXT or its timestamp is newer than TS.Recent. A client reusing its
   * ports quickly (the server closed first and holds TIME-WAIT) meets this for every new
   * connection: deciding it here spares building a Connection only to end it.
   */
  acceptsSyn(seg: Segment): boolean {
    if (!(seg.flags & TcpFlag.SYN) || seg.flags & (TcpFlag.ACK | TcpFlag.RST)) return false;
    // int32 fields: differences taken modulo 2^32, as seqGt() does.
    const tsDiff = this.tsOk && seg.hasTimestamp ? (seg.tsVal - this.tsRecent) | 0 : 0;
    if (tsDiff < 0) return false;
    return ((seg.seq - this.rcvNxt) | 0) > 0 || tsDiff > 0;
  }

  /**
   * A Connection in TIME-WAIT again (TcpLayer.revive): every field that TIME-WAIT processing
   * reads (input.ts, ack.ts, output.ts) as it was when compacted. The state is set directly:
   * the layer's TIME-WAIT count already includes this record.
   */
  toConnection(ctx: TcpContext, init: ConnectionInit): Connection {
    const c = new Connection(ctx, init);
    c.state = 'TIME-WAIT';
    c.orphan = true;
    c.readShut = true;
    c.writeShut = true;
    c.finQueued = true;
    c.finSent = true;
    c.finAcked = true;
    c.finReceived = true;
    c.iss = seq(this.iss >>> 0);
    c.irs = seq(this.irs >>> 0);
    // Our FIN is acknowledged: SND.UNA = SND.NXT = SND.MAX, one past the FIN.
    c.sndMax = seq(this.sndMax >>> 0);
    c.sndUna = c.sndMax;
    c.sndNxt = c.sndMax;
    c.sndSml = c.sndMax;
    c.recoveryPoint = c.sndMax;
    c.bufSeq = seqAdd(c.sndMax, -1);
    c.sndWnd = this.sndWnd;
    c.sndWl1 = seq(this.sndWl1 >>> 0);
    c.sndWl2 = seq(this.sndWl2 >>> 0);
    c.maxSndWnd = this.maxSndWnd;
    c.sndWscale = this.sndWscale;
    c.rcvNxt = seq(this.rcvNxt >>> 0);
    c.rcvAdv = seq(this.rcvAdv >>> 0);
    c.rcvWscale = this.rcvWscale;
    c.lastAckSent = seq(this.lastAckSent >>> 0);
    c.dsackStart = c.rcvNxt;
    c.dsackEnd = c.rcvNxt;
    c.wsOk = this.wsOk;
    c.sackOk = this.sackOk;
    c.tsOk = this.tsOk;
    c.tsRecent = this.tsRecent >>> 0;
    c.tsRecentAge = this.tsRecentAge;
    c.advMss = this.advMss;
    c.peerMss = this.peerMss;
    c.setMssClamp(this.mssClamp);
    if (c.sackOk) c.recovery = new SackRecovery();
    return c;
  }
}
