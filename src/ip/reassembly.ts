/**
 * IPv4 fragment reassembly (RFC 791 section 3.2 "Reassembly"; RFC 1122 section 3.3.2;
 * RFC 815 for the idea of a hole list, here a sorted list of received intervals).
 *
 * Datagrams are keyed by (source, destination, protocol, identification) (RFC 791).
 *
 * Overlaps. RFC 791 lets later data overwrite earlier data; overlapping fragments have
 * since been a classic attack (teardrop; RFC 1858 filter evasion). Linux >= 4.19 (commit
 * "ip: discard IPv4 datagrams with overlapping segments", then inet_frag_queue_insert)
 * treats IPv4 like IPv6 (RFC 5722): a fragment lying entirely within data already held
 * is a duplicate and is dropped alone; any other overlap discards the whole datagram
 * (counted ReasmOverlaps + ReasmFails). That is our default, `overlap: 'discard'`.
 * `overlap: 'keep-first'` instead keeps the bytes received first and fills only the holes.
 *
 * Bounds (Linux defaults): a datagram in progress lives at most 30 s from its first
 * fragment (ipfrag_time); at most 4 MB are held in total (ipfrag_high_thresh) and at most
 * `maxDatagrams` datagrams are in progress. Over either bound the OLDEST datagrams are
 * evicted (counted ReasmFails) -- Linux instead refuses new fragments while over the
 * threshold; evicting keeps a stale flood from blocking fresh traffic. Memory charged per
 * fragment is its payload plus FRAGMENT_OVERHEAD bytes of bookkeeping, so floods of tiny
 * fragments are bounded too. One timer serves all datagrams: they are kept in creation
 * order, which is also deadline order.
 *
 * A reassembled datagram larger than 65535 bytes is discarded (ReasmFails + ReasmOversize).
 */
import { counters, type Counters } from '../core/counters.js';
import type { Clock, Timer } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ipToString } from './types.js';
import {
  IPV4_FLAG_DF,
  IPV4_HEADER_LEN,
  IPV4_MAX_DATAGRAM,
  Ipv4Off,
  readU16,
  refreshIpv4Checksum,
  writeU16,
  type Ipv4Packet,
} from './ipv4.js';
import { ICMP_MAX_QUOTE } from './icmp.js';

/** Bytes charged per held fragment on top of its payload. */
export const FRAGMENT_OVERHEAD = 64;

export interface ReassemblyOptions {
  /** Lifetime of an incomplete datagram, ms. Linux ipfrag_time: 30 s. */
  timeoutMs?: number;
  /** Total bytes held. Linux ipfrag_high_thresh: 4 MB. */
  maxBytes?: number;
  /** Datagrams in progress at once. */
  maxDatagrams?: number;
  /** Overlap policy; see the file comment. Default 'discard' (Linux). */
  overlap?: 'discard' | 'keep-first';
}

export const REASSEMBLY_DEFAULTS: Required<ReassemblyOptions> = {
  timeoutMs: 30_000,
  maxBytes: 4 * 1024 * 1024,
  maxDatagrams: 1024,
  overlap: 'discard',
};

export const REASM_COUNTERS = [
  'ReasmReqds',
  'ReasmOKs',
  'ReasmFails',
  'ReasmTimeout',
  'ReasmOverlaps',
  'ReasmDuplicates',
  'ReasmOversize',
  'ReasmEvicted',
] as const;
export type ReasmCounter = (typeof REASM_COUNTERS)[number];

/**
 * Called when an incomplete datagram times out and its first fragment had arrived
 * (RFC 792 / RFC 1122 3.2.1.4 MAY: ICMP time exceeded, code 1). `quote` is that first
 * fragment's header and the start of its data, enough to quote in the ICMP error.
 */
export type ReassemblyTimeoutHandler = (src: number, dst: number, quote: Uint8Array) => void;

interface Fragment {
  off: number;
  end: number;
  data: Uint8Array;
}

interface Datagram {
  key: string;
  src: number;
  dst: number;
  deadline: number;
  /** Sorted by offset, never overlapping. */
  frags: Fragment[];
  /** Header of the fragment with offset 0 (copied), once received. */
  firstHeader: Uint8Array | undefined;
  /** Payload length once the last fragment (MF = 0) arrived, else the largest end seen. */
  len: number;
  lastIn: boolean;
  /** Payload bytes held. */
  meat: number;
  /** Memory charged. */
  charged: number;
}

export class Reassembler {
  readonly stats: Counters<ReasmCounter> = counters(REASM_COUNTERS);
  private readonly clock: Clock;
  private readonly opts: Required<ReassemblyOptions>;
  private readonly logger: Logger;
  private readonly onTimeout: ReassemblyTimeoutHandler | undefined;
  /** In creation order (= deadline order, all lifetimes being equal). */
  private readonly pending = new Map<string, Datagram>();
  private readonly timer: Timer;
  private held = 0;

  constructor(cfg: { clock: Clock; options?: ReassemblyOptions; logger?: Logger; onTimeout?: ReassemblyTimeoutHandler }) {
    this.clock = cfg.clock;
    this.opts = { ...REASSEMBLY_DEFAULTS, ...cfg.options };
    this.logger = cfg.logger ?? silentLogger;
    this.onTimeout = cfg.onTimeout;
    this.timer = this.clock.createTimer(() => this.expire());
  }

  /** Bytes currently charged (payloads + per-fragment overhead + first headers). */
  get bytesHeld(): number {
    return this.held;
  }

  /** Datagrams in progress. */
  get inProgress(): number {
    return this.pending.size;
  }

  /**
   * Take one validated fragment (MF set or offset non-zero). Returns the whole datagram
   * (a new buffer: the first fragment's header with MF/offset cleared, Total Length and
   * checksum updated, then the data) when this fragment completes it, else undefined.
   */
  add(p: Ipv4Packet): Uint8Array | undefined {
    this.stats.ReasmReqds++;
    const src = p.src;
    const dst = p.dst;
    const key = `${src}:${dst}:${p.protocol}:${p.id}`;
    let d = this.pending.get(key);
    if (d === undefined) {
      d = {
        key,
        src,
        dst,
        deadline: this.clock.now() + this.opts.timeoutMs,
        frags: [],
        firstHeader: undefined,
        len: 0,
        lastIn: false,
        meat: 0,
        charged: 0,
      };
      this.pending.set(key, d);
      if (this.timer.deadline === undefined) this.timer.arm(d.deadline);
    }

    const off = p.fragmentOffset;
    const payload = p.payload;
    let end = off + payload.length;
    if (!p.moreFragments) {
      // RFC 791: the last fragment fixes the length. Linux: data already held beyond it,
      // or a second last fragment with another end, means a corrupt datagram.
      if (end < d.len || (d.lastIn && end !== d.len)) return this.fail(d, 'inconsistent last fragment');
      d.lastIn = true;
      d.len = end;
    } else {
      // RFC 791: every fragment but the last carries a multiple of 8 octets; Linux trims.
      end &= ~7;
      if (end > d.len) {
        if (d.lastIn) return this.fail(d, 'fragment beyond the last fragment');
        d.len = end;
      }
    }
    if (end <= off) return this.fail(d, 'empty fragment');
    const hl = d.firstHeader?.length ?? (off === 0 ? p.headerLength : IPV4_HEADER_LEN);
    if (hl + end > IPV4_MAX_DATAGRAM) {
      this.stats.ReasmOversize++;
      return this.fail(d, `datagram would exceed 65535 bytes (offset ${off} + ${end - off})`);
    }

    if (!this.insert(d, off, end, payload)) return undefined;
    if (off === 0 && d.firstHeader === undefined) {
      d.firstHeader = p.header.slice();
      this.charge(d, d.firstHeader.length);
    }
    this.enforceMemory(d);
    if (!this.pending.has(key)) return undefined;

    const first = d.frags[0];
    if (d.lastIn && d.firstHeader !== undefined && first !== undefined && first.off === 0 && d.meat === d.len) {
      return this.complete(d);
    }
    return undefined;
  }

  /** Insert [off, end) into d. False when the fragment was dropped (duplicate) or the datagram discarded. */
  private insert(d: Datagram, off: number, end: number, payload: Uint8Array): boolean {
    const frags = d.frags;
    // Fast path: in-order arrival appends after the last interval.
    const last = frags[frags.length - 1];
    if (last === undefined || off >= last.end) {
      this.push(d, frags.length, off, end, payload, off);
      return true;
    }
    // The first interval ending after off. Intervals are sorted and disjoint, so their
    // ends increase: binary search (a flood of tiny fragments in random order must not
    // cost a linear scan per fragment).
    let i = 0;
    let hi = frags.length;
    while (i < hi) {
      const mid = (i + hi) >>> 1;
      if (frags[mid]!.end <= off) i = mid + 1;
      else hi = mid;
    }
    // Is [off, end) fully covered by held data? Then it is a duplicate.
    let covered = off;
    for (let j = i; j < frags.length && frags[j]!.off <= covered && covered < end; j++) covered = frags[j]!.end;
    if (covered >= end) {
      this.stats.ReasmDuplicates++;
      this.log(d, `duplicate fragment [${off}, ${end}) dropped`);
      return false;
    }
    const next = frags[i];
    const overlaps = next !== undefined && next.off < end;
    if (!overlaps) {
      this.push(d, i, off, end, payload, off);
      return true;
    }
    if (this.opts.overlap === 'discard') {
      this.stats.ReasmOverlaps++;
      this.fail(d, `fragment [${off}, ${end}) overlaps [${next.off}, ${next.end})`);
      return false;
    }
    // keep-first: fill only the holes inside [off, end), keeping bytes already held.
    let pos = off;
    let j = i;
    while (pos < end) {
      const f = frags[j];
      if (f === undefined || f.off >= end) {
        this.push(d, j, pos, end, payload, off);
        break;
      }
      if (f.off > pos) {
        this.push(d, j, pos, f.off, payload, off);
        j++;
      }
      pos = Math.max(pos, f.end);
      j++;
    }
    return true;
  }

  /** Store a copy of payload[from - base, to - base) as interval [from, to) at index i. */
  private push(d: Datagram, i: number, from: number, to: number, payload: Uint8Array, base: number): void {
    const data = payload.slice(from - base, to - base);
    d.frags.splice(i, 0, { off: from, end: to, data });
    d.meat += to - from;
    this.charge(d, to - from + FRAGMENT_OVERHEAD);
  }

  private charge(d: Datagram, n: number): void {
    d.charged += n;
    this.held += n;
  }

  /** Evict the oldest datagrams (other than `current`, unless it alone is too big) while over a bound. */
  private enforceMemory(current: Datagram): void {
    while (this.held > this.opts.maxBytes || this.pending.size > this.opts.maxDatagrams) {
      let victim: Datagram | undefined;
      for (const d of this.pending.values()) {
        if (d !== current) {
          victim = d;
          break;
        }
      }
      victim ??= current;
      this.stats.ReasmEvicted++;
      this.fail(victim, `evicted: ${this.held} bytes held in ${this.pending.size} datagrams`);
      if (victim === current) return;
    }
  }

  private complete(d: Datagram): Uint8Array | undefined {
    const header = d.firstHeader!;
    const hl = header.length;
    const total = hl + d.len;
    if (total > IPV4_MAX_DATAGRAM) {
      this.stats.ReasmOversize++;
      return this.fail(d, `reassembled size ${total} > 65535`);
    }
    const out = new Uint8Array(total);
    out.set(header, 0);
    // RFC 791: the reassembled datagram is the first fragment's header with MF clear,
    // offset zero and the new total length (DF kept as the first fragment had it).
    writeU16(out, Ipv4Off.TOTAL_LEN, total);
    writeU16(out, Ipv4Off.FLAGS_FRAG, readU16(out, Ipv4Off.FLAGS_FRAG) & IPV4_FLAG_DF);
    refreshIpv4Checksum(out, 0, hl);
    for (const f of d.frags) out.set(f.data, hl + f.off);
    this.remove(d);
    this.stats.ReasmOKs++;
    return out;
  }

  /** Discard a datagram (ReasmFails). Always returns undefined, for `return this.fail(...)`. */
  private fail(d: Datagram, why: string): undefined {
    this.stats.ReasmFails++;
    this.log(d, why);
    this.remove(d);
    return undefined;
  }

  private remove(d: Datagram): void {
    if (this.pending.get(d.key) !== d) return;
    this.pending.delete(d.key);
    this.held -= d.charged;
    d.charged = 0;
    if (this.pending.size === 0) this.timer.cancel();
  }

  /** The one timer: expire every datagram past its deadline, then re-arm for the oldest left. */
  private expire(): void {
    const now = this.clock.now();
    for (const d of this.pending.values()) {
      if (d.deadline > now) break;
      this.stats.ReasmTimeout++;
      this.stats.ReasmFails++;
      this.log(d, `timed out with ${d.meat} of ${d.lastIn ? d.len : '?'} bytes`);
      const quote = this.firstFragmentQuote(d);
      this.remove(d);
      if (quote !== undefined) this.onTimeout?.(d.src, d.dst, quote);
    }
    const oldest = this.pending.values().next();
    if (!oldest.done) this.timer.arm(oldest.value.deadline);
  }

  /** The first fragment's header and the contiguous data from offset 0 (what an ICMP error quotes). */
  private firstFragmentQuote(d: Datagram): Uint8Array | undefined {
    const h = d.firstHeader;
    const first = d.frags[0];
    if (h === undefined || first === undefined || first.off !== 0) return undefined;
    let contiguous = 0;
    for (const f of d.frags) {
      if (f.off !== contiguous) break;
      contiguous = f.end;
    }
    const n = Math.min(contiguous, Math.max(0, ICMP_MAX_QUOTE - h.length));
    const q = new Uint8Array(h.length + n);
    q.set(h, 0);
    for (const f of d.frags) {
      if (f.off >= n) break;
      q.set(f.data.subarray(0, Math.min(f.end, n) - f.off), h.length + f.off);
    }
    return q;
  }

  /** Drop everything (e.g. on shutdown). */
  clear(): void {
    for (const d of [...this.pending.values()]) this.remove(d);
    this.timer.cancel();
  }

  private log(d: Datagram, why: string): void {
    if (this.logger.enabled('ip')) {
      this.logger.log('ip', `reassembly ${ipToString(d.src)} -> ${ipToString(d.dst)} (${d.key}): ${why}`);
    }
  }
}
