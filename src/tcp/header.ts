/**
 * The TCP segment on the wire (RFC 9293 section 3.1) and its options (RFC 9293 3.2,
 * RFC 7323 window scale and timestamps, RFC 2018 SACK).
 *
 * Reading: `TcpHeaderView.parse(bytes)` validates the fixed header once (length, data
 * offset) and returns a view whose getters cannot throw; `decodeSegment()` goes further
 * for the receive path: checksum with the IPv4 pseudo-header, option parsing, and a
 * plain `Segment` value filled in place (one reused object per TcpLayer, so the hot path
 * allocates nothing).
 *
 * Writing: `writeHeader()` fills the fixed header into a buffer, `writeOptions()` the
 * options from an `OptionsOut` description, `setChecksum()` finishes the segment.
 */
import { finishChecksum, internetSum, pseudoHeaderSum } from '../ip/checksum.js';
import { seq, seqAdd, type Seq } from '../core/seq.js';

/** Fixed header field offsets (RFC 9293 Figure 1). */
const OFF_SRC_PORT = 0;
const OFF_DST_PORT = 2;
const OFF_SEQ = 4;
const OFF_ACK = 8;
const OFF_DATA_OFFSET = 12;
const OFF_FLAGS = 13;
const OFF_WINDOW = 14;
const OFF_CHECKSUM = 16;
const OFF_URGENT = 18;

export const TCP_HEADER_LEN = 20;
/** Offset of the checksum field (for checksum offload: virtio csum_offset). */
export const TCP_CHECKSUM_OFFSET = OFF_CHECKSUM;
/** Largest header: data offset 15 words. */
export const TCP_MAX_HEADER_LEN = 60;
export const TCP_MAX_OPTIONS_LEN = 40;
export const IPPROTO_TCP = 6;

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;

/** RFC 7323 2.3: "the shift count MUST be limited to 14". */
export const MAX_WINDOW_SCALE = 14;
/** Bytes a timestamps option takes in a non-SYN segment (NOP NOP TS). */
export const TS_OPTION_SPACE = 12;
/** RFC 2018: at most 4 SACK blocks fit in 40 bytes, 3 alongside timestamps. */
export const MAX_SACK_BLOCKS = 4;

export function flagsToString(f: number): string {
  const names: string[] = [];
  if (f & TcpFlag.SYN) names.push('SYN');
  if (f & TcpFlag.FIN) names.push('FIN');
  if (f & TcpFlag.RST) names.push('RST');
  if (f & TcpFlag.PSH) names.push('PSH');
  if (f & TcpFlag.ACK) names.push('ACK');
  if (f & TcpFlag.URG) names.push('URG');
  return names.join(',') || 'none';
}

/** A zero-copy view of a validated TCP header. */
export class TcpHeaderView {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Validate the fixed header: at least 20 bytes, 20 <= data offset <= length. */
  static parse(bytes: Uint8Array): TcpHeaderView | 'short' | 'bad-offset' {
    if (bytes.length < TCP_HEADER_LEN) return 'short';
    const hl = (bytes[OFF_DATA_OFFSET]! >>> 4) * 4;
    if (hl < TCP_HEADER_LEN || hl > bytes.length) return 'bad-offset';
    return new TcpHeaderView(bytes);
  }

  get srcPort(): number {
    return this.dv.getUint16(OFF_SRC_PORT);
  }
  get dstPort(): number {
    return this.dv.getUint16(OFF_DST_PORT);
  }
  get seq(): Seq {
    return seq(this.dv.getUint32(OFF_SEQ));
  }
  get ack(): Seq {
    return seq(this.dv.getUint32(OFF_ACK));
  }
  get headerLength(): number {
    return (this.bytes[OFF_DATA_OFFSET]! >>> 4) * 4;
  }
  get flags(): number {
    return this.bytes[OFF_FLAGS]!;
  }
  get window(): number {
    return this.dv.getUint16(OFF_WINDOW);
  }
  get checksum(): number {
    return this.dv.getUint16(OFF_CHECKSUM);
  }
  get urgent(): number {
    return this.dv.getUint16(OFF_URGENT);
  }
  get options(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LEN, this.headerLength);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

/** A SACK block [start, end) (RFC 2018 section 3). */
export interface SackRange {
  start: Seq;
  end: Seq;
}

/**
 * A received segment as a plain value (no tie to the wire bytes except `payload`, a view
 * valid only during the receive call). Options absent from the segment read as -1/false.
 */
export class Segment {
  srcPort = 0;
  dstPort = 0;
  seq: Seq = seq(0);
  ack: Seq = seq(0);
  flags = 0;
  /** The raw 16-bit window field (unscaled). */
  window = 0;
  urgent = 0;
  payload: Uint8Array = new Uint8Array(0);
  /** MSS option value, or -1. */
  mss = -1;
  /** Window scale shift (clamped to 14 per RFC 7323 2.3), or -1. */
  wscale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  /** SACK blocks carried (entries [0, sackCount) of sackBlocks are valid). */
  sackCount = 0;
  readonly sackBlocks: SackRange[] = [];
  /** sackViews[n]: the first n entries of sackBlocks as an array (prebuilt, shares the objects). */
  private readonly sackViews: SackRange[][] = [];

  constructor() {
    for (let i = 0; i < MAX_SACK_BLOCKS; i++) this.sackBlocks.push({ start: seq(0), end: seq(0) });
    for (let n = 0; n <= MAX_SACK_BLOCKS; n++) this.sackViews.push(this.sackBlocks.slice(0, n));
  }

  /** The SACK blocks carried, without allocating (valid until the next decode). */
  get sackList(): readonly SackRange[] {
    return this.sackViews[this.sackCount]!;
  }

  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** SEG.LEN: payload octets plus one for SYN and one for FIN (RFC 9293 3.4). */
  get len(): number {
    return this.payload.length + (this.flags & TcpFlag.SYN ? 1 : 0) + (this.flags & TcpFlag.FIN ? 1 : 0);
  }

  /** SEG.SEQ + SEG.LEN. */
  get end(): Seq {
    return seqAdd(this.seq, this.len);
  }

  /** The SACK blocks as a fresh array (for tests and logging; the engine reads sackBlocks). */
  sacks(): SackRange[] {
    return this.sackBlocks.slice(0, this.sackCount).map((b) => ({ start: b.start, end: b.end }));
  }

  resetOptions(): void {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
  }
}

export type DecodeError = 'short' | 'bad-offset' | 'bad-checksum' | 'bad-option';

/**
 * Parse and validate an incoming segment into `out`: header, checksum over the IPv4
 * pseudo-header (RFC 9293 3.1, MUST-3), options. Returns undefined on success.
 * `verifyChecksum` false skips the checksum when the link vouches for it (IpRxInfo
 * checksumVerified: the kernel verified it, or handed us a partial one from itself).
 */
export function decodeSegment(bytes: Uint8Array, src: number, dst: number, out: Segment, verifyChecksum = true): DecodeError | undefined {
  if (bytes.length < TCP_HEADER_LEN) return 'short';
  const hl = (bytes[OFF_DATA_OFFSET]! >>> 4) * 4;
  if (hl < TCP_HEADER_LEN || hl > bytes.length) return 'bad-offset';
  // RFC 9293 3.1 / MUST-3: the receiver checks the checksum (pseudo-header + header + data).
  if (verifyChecksum && internetSum(bytes, pseudoHeaderSum(src, dst, IPPROTO_TCP, bytes.length)) !== 0xffff) return 'bad-checksum';
  out.srcPort = u16(bytes, OFF_SRC_PORT);
  out.dstPort = u16(bytes, OFF_DST_PORT);
  out.seq = u32(bytes, OFF_SEQ) as Seq;
  out.ack = u32(bytes, OFF_ACK) as Seq;
  out.flags = bytes[OFF_FLAGS]!;
  out.window = u16(bytes, OFF_WINDOW);
  out.urgent = u16(bytes, OFF_URGENT);
  out.payload = bytes.subarray(hl);
  out.resetOptions();
  if (hl > TCP_HEADER_LEN && !parseOptions(bytes, TCP_HEADER_LEN, hl, out)) return 'bad-option';
  return undefined;
}

/** Big-endian reads without a DataView (the receive path allocates nothing). */
function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}
function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}
function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}
function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/**
 * Walk the options area [off, end). RFC 9293 3.2: every option except EOL and NOP has a
 * length octet (MUST-68) counting kind and length; unknown options are skipped by their
 * length (MUST-6); options may appear in any segment (MUST-5) at any alignment (MUST-64);
 * an illegal length (< 2 or running past the header) makes the segment malformed (MUST-7:
 * "be prepared to handle an illegal option length ... without crashing"; we drop it, as
 * Linux and gVisor do). Options with a wrong length for their kind are ignored (Linux).
 */
function parseOptions(b: Uint8Array, off: number, end: number, out: Segment): boolean {
  let i = off;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TcpOptionKind.EOL) break;
    if (kind === TcpOptionKind.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return false;
    switch (kind) {
      case TcpOptionKind.MSS:
        // RFC 9293 3.2: MSS only in SYN segments; Linux reads it only from SYNs too.
        if (len === 4 && b[OFF_FLAGS]! & TcpFlag.SYN) out.mss = u16(b, i + 2);
        break;
      case TcpOptionKind.WINDOW_SCALE:
        if (len === 3 && b[OFF_FLAGS]! & TcpFlag.SYN) {
          // RFC 7323 2.3: a shift count above 14 is logged and used as 14.
          out.wscale = Math.min(b[i + 2]!, MAX_WINDOW_SCALE);
        }
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (len === 2 && b[OFF_FLAGS]! & TcpFlag.SYN) out.sackPermitted = true;
        break;
      case TcpOptionKind.SACK: {
        // RFC 2018 3: length 2 + 8n.
        if ((len - 2) % 8 !== 0 || len < 10) break;
        const n = Math.min((len - 2) / 8, MAX_SACK_BLOCKS);
        for (let k = 0; k < n; k++) {
          const blk = out.sackBlocks[k]!;
          blk.start = u32(b, i + 2 + 8 * k) as Seq;
          blk.end = u32(b, i + 6 + 8 * k) as Seq;
        }
        out.sackCount = n;
        break;
      }
      case TcpOptionKind.TIMESTAMP:
        if (len === 10) {
          out.hasTimestamp = true;
          out.tsVal = u32(b, i + 2);
          out.tsEcr = u32(b, i + 6);
        }
        break;
      default:
        // MUST-6: ignore options we do not implement.
        break;
    }
    i += len;
  }
  return true;
}

/** What to put in the options area of an outgoing segment. Reused per connection/layer. */
export class OptionsOut {
  /** MSS to announce (SYN only), or -1. */
  mss = -1;
  /** Window scale to announce (SYN only), or -1. */
  wscale = -1;
  sackPermitted = false;
  timestamp = false;
  tsVal = 0;
  tsEcr = 0;
  sackCount = 0;
  readonly sackBlocks: SackRange[] = [];

  constructor() {
    for (let i = 0; i < MAX_SACK_BLOCKS; i++) this.sackBlocks.push({ start: seq(0), end: seq(0) });
  }

  clear(): this {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.timestamp = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    return this;
  }

  /** Bytes the options will take (a multiple of 4). */
  get length(): number {
    let n = 0;
    if (this.mss >= 0) n += 4;
    // SACK-permitted rides in the two pad bytes before the timestamps (Linux layout).
    if (this.timestamp) n += 12;
    else if (this.sackPermitted) n += 4;
    if (this.wscale >= 0) n += 4;
    if (this.sackCount > 0) n += 4 + 8 * this.sackCount;
    return n;
  }
}

/**
 * Write options at b[off...] in Linux's layout (tcp_options_write), padding with NOPs to
 * a 4-byte multiple (MUST-69: padding is zero/NOP-filled). Returns the bytes written.
 *   MSS: 02 04 mss
 *   SACK-permitted + timestamps: 04 02 08 0a TSval TSecr   (or 01 01 08 0a ... without SACK-permitted)
 *   SACK-permitted alone: 01 01 04 02
 *   window scale: 01 03 03 shift
 *   SACK: 01 01 05 len blocks...
 */
export function writeOptions(b: Uint8Array, off: number, o: OptionsOut): number {
  let i = off;
  if (o.mss >= 0) {
    b[i] = TcpOptionKind.MSS;
    b[i + 1] = 4;
    put16(b, i + 2, o.mss);
    i += 4;
  }
  if (o.timestamp) {
    if (o.sackPermitted) {
      b[i] = TcpOptionKind.SACK_PERMITTED;
      b[i + 1] = 2;
    } else {
      b[i] = TcpOptionKind.NOP;
      b[i + 1] = TcpOptionKind.NOP;
    }
    b[i + 2] = TcpOptionKind.TIMESTAMP;
    b[i + 3] = 10;
    put32(b, i + 4, o.tsVal >>> 0);
    put32(b, i + 8, o.tsEcr >>> 0);
    i += 12;
  } else if (o.sackPermitted) {
    b[i] = TcpOptionKind.NOP;
    b[i + 1] = TcpOptionKind.NOP;
    b[i + 2] = TcpOptionKind.SACK_PERMITTED;
    b[i + 3] = 2;
    i += 4;
  }
  if (o.wscale >= 0) {
    b[i] = TcpOptionKind.NOP;
    b[i + 1] = TcpOptionKind.WINDOW_SCALE;
    b[i + 2] = 3;
    b[i + 3] = o.wscale;
    i += 4;
  }
  if (o.sackCount > 0) {
    b[i] = TcpOptionKind.NOP;
    b[i + 1] = TcpOptionKind.NOP;
    b[i + 2] = TcpOptionKind.SACK;
    b[i + 3] = 2 + 8 * o.sackCount;
    i += 4;
    for (let k = 0; k < o.sackCount; k++) {
      const blk = o.sackBlocks[k]!;
      put32(b, i, blk.start);
      put32(b, i + 4, blk.end);
      i += 8;
    }
  }
  return i - off;
}

/** Fixed header fields for writeHeader(). */
export interface HeaderFields {
  srcPort: number;
  dstPort: number;
  seq: Seq;
  ack: Seq;
  flags: number;
  window: number;
  urgent?: number;
}

/** Write the 20-byte fixed header at b[0..20) with the given total header length; checksum zeroed. */
export function writeHeader(b: Uint8Array, f: HeaderFields, headerLen: number): void {
  writeHeaderRaw(b, f.srcPort, f.dstPort, f.seq, f.ack, f.flags, f.window, headerLen);
  if (f.urgent !== undefined) {
    b[OFF_URGENT] = (f.urgent >>> 8) & 0xff;
    b[OFF_URGENT + 1] = f.urgent & 0xff;
  }
}

/** Allocation-free variant of writeHeader for the hot path. */
export function writeHeaderRaw(
  b: Uint8Array,
  srcPort: number,
  dstPort: number,
  sq: number,
  ack: number,
  flags: number,
  window: number,
  headerLen: number,
): void {
  b[OFF_SRC_PORT] = srcPort >>> 8;
  b[OFF_SRC_PORT + 1] = srcPort & 0xff;
  b[OFF_DST_PORT] = dstPort >>> 8;
  b[OFF_DST_PORT + 1] = dstPort & 0xff;
  b[OFF_SEQ] = sq >>> 24;
  b[OFF_SEQ + 1] = (sq >>> 16) & 0xff;
  b[OFF_SEQ + 2] = (sq >>> 8) & 0xff;
  b[OFF_SEQ + 3] = sq & 0xff;
  b[OFF_ACK] = ack >>> 24;
  b[OFF_ACK + 1] = (ack >>> 16) & 0xff;
  b[OFF_ACK + 2] = (ack >>> 8) & 0xff;
  b[OFF_ACK + 3] = ack & 0xff;
  b[OFF_DATA_OFFSET] = (headerLen / 4) << 4;
  b[OFF_FLAGS] = flags & 0xff;
  b[OFF_WINDOW] = (window >>> 8) & 0xff;
  b[OFF_WINDOW + 1] = window & 0xff;
  b[OFF_CHECKSUM] = 0;
  b[OFF_CHECKSUM + 1] = 0;
  b[OFF_URGENT] = 0;
  b[OFF_URGENT + 1] = 0;
}

/**
 * Checksum offload: store only the pseudo-header sum of a `len`-octet segment (folded, not
 * complemented; Linux __tcp_v4_send_check for CHECKSUM_PARTIAL). The device adds the
 * header and data and complements (RFC 1071); for a TSO super-segment `len` is the whole
 * TCP length and the device re-bases the sum to each segment's length (tcp_gso_segment).
 */
export function setPartialChecksum(b: Uint8Array, len: number, src: number, dst: number): void {
  const p = pseudoHeaderSum(src, dst, IPPROTO_TCP, len);
  b[OFF_CHECKSUM] = p >>> 8;
  b[OFF_CHECKSUM + 1] = p & 0xff;
}

/** Compute and store the checksum of b[0, len) (header + data) with the IPv4 pseudo-header (MUST-2). */
export function setChecksum(b: Uint8Array, len: number, src: number, dst: number): void {
  b[OFF_CHECKSUM] = 0;
  b[OFF_CHECKSUM + 1] = 0;
  const c = finishChecksum(internetSum(b, pseudoHeaderSum(src, dst, IPPROTO_TCP, len), 0, len));
  b[OFF_CHECKSUM] = c >>> 8;
  b[OFF_CHECKSUM + 1] = c & 0xff;
}
