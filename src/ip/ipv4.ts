/**
 * IPv4 header view and emitter (RFC 791 section 3.1; RFC 1122 section 3.2.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version|  IHL  |Type of Service|          Total Length         |
 *    |         Identification        |Flags|      Fragment Offset    |
 *    |  Time to Live |    Protocol   |         Header Checksum       |
 *    |                       Source Address                          |
 *    |                    Destination Address                        |
 *    |                    Options                    |    Padding    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `Ipv4Packet.parse()` validates untrusted bytes once and returns a view (or a reason);
 * after that no getter can throw. The view never copies: header, options and payload
 * are subarrays. A view can be re-pointed with `reset()` so the receive path allocates
 * no view object per packet. Addresses are host-order unsigned 32-bit numbers.
 */
import { readU16, readU32, writeU16, writeU32 } from '../core/bytes.js';
import { checksum, finish } from './checksum.js';

export { readU16, readU32, writeU16, writeU32 };

/** Field offsets in the IPv4 header. */
export const Ipv4Off = {
  VER_IHL: 0,
  TOS: 1,
  TOTAL_LEN: 2,
  ID: 4,
  FLAGS_FRAG: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

/** Header length without options. */
export const IPV4_HEADER_LEN = 20;
/** Largest header (IHL 15). */
export const IPV4_MAX_HEADER_LEN = 60;
/** Largest datagram (the Total Length field is 16 bits). */
export const IPV4_MAX_DATAGRAM = 65535;
/** RFC 791: every internet module must forward a 68-octet datagram without fragmenting it; RFC 1191's floor. */
export const IPV4_MIN_MTU = 68;

/** Flags in the 16-bit flags + fragment offset word. */
export const IPV4_FLAG_RESERVED = 0x8000;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAG_OFFSET_MASK = 0x1fff;

/** Option types used here (RFC 791 section 3.1). */
export const Ipv4Option = {
  END: 0,
  NOP: 1,
  LSRR: 131,
  SSRR: 137,
} as const;

/** Why parse() rejected the bytes. 'truncated' is Linux's InTruncatedPkts, the others InHdrErrors. */
export type Ipv4ParseError =
  | 'too-short'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-total-length'
  | 'truncated'
  | 'bad-checksum';

export class Ipv4Packet {
  /** The bytes given to reset(): the datagram, possibly followed by link-layer padding. */
  private b: Uint8Array = new Uint8Array(IPV4_HEADER_LEN);
  /** End of the datagram in `b`: Total Length (for a quoted datagram: what is available). */
  private end = IPV4_HEADER_LEN;
  private hl = IPV4_HEADER_LEN;

  /** Validate untrusted bytes (e.g. an Ethernet payload, padding allowed) and return a view, or why not. */
  static parse(bytes: Uint8Array, verifyChecksum = true): Ipv4Packet | Ipv4ParseError {
    const p = new Ipv4Packet();
    const err = p.reset(bytes, verifyChecksum);
    return err === undefined ? p : err;
  }

  /**
   * Lenient parse of the datagram quoted inside an ICMP error (RFC 792: "Internet Header
   * + 64 bits of Original Data Datagram"): version and IHL must be sane and the header plus
   * 8 payload bytes present; Total Length may exceed what is quoted and the checksum is
   * not checked (a router may have changed the TTL). The payload is what was quoted.
   */
  static parseQuoted(bytes: Uint8Array): Ipv4Packet | Ipv4ParseError {
    const p = new Ipv4Packet();
    const err = p.resetQuoted(bytes);
    return err === undefined ? p : err;
  }

  /**
   * Re-point this view at new bytes (full validation, as parse()). Undefined on success.
   * Allocates nothing: padding after Total Length is not cut off with a new view, the
   * getters stop at Total Length instead.
   */
  reset(bytes: Uint8Array, verifyChecksum = true): Ipv4ParseError | undefined {
    if (bytes.length < IPV4_HEADER_LEN) return 'too-short';
    const vihl = bytes[Ipv4Off.VER_IHL]!;
    // RFC 791 section 3.1: Version 4.
    if (vihl >>> 4 !== 4) return 'bad-version';
    const hl = (vihl & 0x0f) * 4;
    // RFC 791 section 3.1: "the minimum value for a correct header is 5" (IHL, in 32-bit words).
    if (hl < IPV4_HEADER_LEN || hl > bytes.length) return 'bad-header-length';
    const total = readU16(bytes, Ipv4Off.TOTAL_LEN);
    if (total < hl) return 'bad-total-length';
    // Fewer bytes than Total Length is a truncated datagram (Linux ip_rcv_core:
    // InTruncatedPkts); more is link-layer padding (Ethernet pads to 60 bytes), ignored.
    if (total > bytes.length) return 'truncated';
    // RFC 1122 3.2.1.2: "A host MUST verify the IP header checksum on every received
    // datagram and silently discard every datagram that has a bad checksum."
    if (verifyChecksum && checksum(bytes, 0, 0, hl) !== 0xffff) return 'bad-checksum';
    this.b = bytes;
    this.end = total;
    this.hl = hl;
    return undefined;
  }

  /** Re-point this view at a quoted datagram (see parseQuoted). Undefined on success. */
  resetQuoted(bytes: Uint8Array): Ipv4ParseError | undefined {
    if (bytes.length < IPV4_HEADER_LEN) return 'too-short';
    const vihl = bytes[Ipv4Off.VER_IHL]!;
    if (vihl >>> 4 !== 4) return 'bad-version';
    const hl = (vihl & 0x0f) * 4;
    if (hl < IPV4_HEADER_LEN) return 'bad-header-length';
    // RFC 1122 3.2.2: the error quotes the header and at least the first 8 data octets.
    if (bytes.length < hl + 8) return 'truncated';
    const total = readU16(bytes, Ipv4Off.TOTAL_LEN);
    if (total < hl + 8) return 'bad-total-length';
    this.b = bytes;
    this.end = total < bytes.length ? total : bytes.length;
    this.hl = hl;
    return undefined;
  }

  get version(): number {
    return this.b[Ipv4Off.VER_IHL]! >>> 4;
  }
  /** Header length in bytes (IHL * 4). */
  get headerLength(): number {
    return this.hl;
  }
  /** The whole TOS byte (DSCP << 2 | ECN). */
  get tos(): number {
    return this.b[Ipv4Off.TOS]!;
  }
  get dscp(): number {
    return this.b[Ipv4Off.TOS]! >>> 2;
  }
  get ecn(): number {
    return this.b[Ipv4Off.TOS]! & 3;
  }
  get totalLength(): number {
    return readU16(this.b, Ipv4Off.TOTAL_LEN);
  }
  get id(): number {
    return readU16(this.b, Ipv4Off.ID);
  }
  /** The three flag bits (reserved, DF, MF) as a number 0..7. */
  get flags(): number {
    return this.b[Ipv4Off.FLAGS_FRAG]! >>> 5;
  }
  get dontFragment(): boolean {
    return (readU16(this.b, Ipv4Off.FLAGS_FRAG) & IPV4_FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (readU16(this.b, Ipv4Off.FLAGS_FRAG) & IPV4_FLAG_MF) !== 0;
  }
  /** Fragment offset in BYTES (the wire field is in 8-byte units). */
  get fragmentOffset(): number {
    return (readU16(this.b, Ipv4Off.FLAGS_FRAG) & IPV4_FRAG_OFFSET_MASK) * 8;
  }
  /** A fragment: MF set or a non-zero offset. */
  get isFragment(): boolean {
    return (readU16(this.b, Ipv4Off.FLAGS_FRAG) & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET_MASK)) !== 0;
  }
  get ttl(): number {
    return this.b[Ipv4Off.TTL]!;
  }
  get protocol(): number {
    return this.b[Ipv4Off.PROTOCOL]!;
  }
  get headerChecksum(): number {
    return readU16(this.b, Ipv4Off.CHECKSUM);
  }
  get src(): number {
    return readU32(this.b, Ipv4Off.SRC);
  }
  get dst(): number {
    return readU32(this.b, Ipv4Off.DST);
  }
  /** Header bytes including options. */
  get header(): Uint8Array {
    return this.b.subarray(0, this.hl);
  }
  /** Option bytes (empty when IHL is 5). */
  get options(): Uint8Array {
    return this.b.subarray(IPV4_HEADER_LEN, this.hl);
  }
  /** Payload bytes: Total Length minus the header (for a quoted datagram: what was quoted). */
  get payload(): Uint8Array {
    return this.b.subarray(this.hl, this.end);
  }
  /** Payload length in bytes (no view made). */
  get payloadLength(): number {
    return this.end - this.hl;
  }
  /** Header + payload, without link padding. */
  get datagram(): Uint8Array {
    return this.end === this.b.length ? this.b : this.b.subarray(0, this.end);
  }
  /** Header + payload length in bytes (no view made). */
  get datagramLength(): number {
    return this.end;
  }
}

/** What emitIpv4Header() writes. Reuse one object on hot paths. */
export interface Ipv4HeaderFields {
  tos?: number;
  /** Header (20) + payload length. */
  totalLength: number;
  id: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In bytes; must be a multiple of 8. */
  fragmentOffset?: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
}

/** Write a 20-byte header (no options) with its checksum at buf[off]. Returns 20. */
export function emitIpv4Header(buf: Uint8Array, off: number, f: Ipv4HeaderFields): number {
  buf[off + Ipv4Off.VER_IHL] = 0x45;
  buf[off + Ipv4Off.TOS] = f.tos ?? 0;
  writeU16(buf, off + Ipv4Off.TOTAL_LEN, f.totalLength);
  writeU16(buf, off + Ipv4Off.ID, f.id & 0xffff);
  let ff = ((f.fragmentOffset ?? 0) >>> 3) & IPV4_FRAG_OFFSET_MASK;
  if (f.dontFragment === true) ff |= IPV4_FLAG_DF;
  if (f.moreFragments === true) ff |= IPV4_FLAG_MF;
  writeU16(buf, off + Ipv4Off.FLAGS_FRAG, ff);
  buf[off + Ipv4Off.TTL] = f.ttl;
  buf[off + Ipv4Off.PROTOCOL] = f.protocol;
  buf[off + Ipv4Off.CHECKSUM] = 0;
  buf[off + Ipv4Off.CHECKSUM + 1] = 0;
  writeU32(buf, off + Ipv4Off.SRC, f.src);
  writeU32(buf, off + Ipv4Off.DST, f.dst);
  writeU16(buf, off + Ipv4Off.CHECKSUM, finish(checksum(buf, 0, off, IPV4_HEADER_LEN)));
  return IPV4_HEADER_LEN;
}

/** Recompute the header checksum of a header of `hl` bytes at buf[off] (after editing fields). */
export function refreshIpv4Checksum(buf: Uint8Array, off: number, hl: number): void {
  buf[off + Ipv4Off.CHECKSUM] = 0;
  buf[off + Ipv4Off.CHECKSUM + 1] = 0;
  writeU16(buf, off + Ipv4Off.CHECKSUM, finish(checksum(buf, 0, off, hl)));
}

/**
 * Check the option list of a header (RFC 791 section 3.1 option formats). Returns -1 when
 * well formed, else the offset from the start of the header of the offending octet
 * (the ICMP parameter problem pointer, RFC 792). Single-octet options are END and NOP;
 * every other option has a length octet >= 2 that must fit in the header.
 */
export function ipv4OptionsError(header: Uint8Array): number {
  const hl = (header[0]! & 0x0f) * 4;
  let i = IPV4_HEADER_LEN;
  while (i < hl) {
    const type = header[i]!;
    if (type === Ipv4Option.END) return -1;
    if (type === Ipv4Option.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= hl) return i;
    const len = header[i + 1]!;
    if (len < 2 || i + len > hl) return i + 1;
    i += len;
  }
  return -1;
}

/**
 * Whether a (well-formed) header carries a loose or strict source route option whose
 * route is not exhausted (pointer <= length, RFC 791 section 3.1): the datagram names
 * us only as an intermediate hop, and a host that does not forward drops it.
 */
export function ipv4SourceRoutePending(header: Uint8Array): boolean {
  const hl = (header[0]! & 0x0f) * 4;
  let i = IPV4_HEADER_LEN;
  while (i < hl) {
    const type = header[i]!;
    if (type === Ipv4Option.END) return false;
    if (type === Ipv4Option.NOP) {
      i++;
      continue;
    }
    const len = header[i + 1] ?? 0;
    if (len < 2) return false;
    if ((type === Ipv4Option.LSRR || type === Ipv4Option.SSRR) && len >= 3) {
      const pointer = header[i + 2]!;
      if (pointer <= len) return true;
    }
    i += len;
  }
  return false;
}
