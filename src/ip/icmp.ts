/**
 * ICMP message view and emitters (RFC 792; RFC 1122 section 3.2.2; RFC 1191 for the
 * fragmentation-needed MTU field).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    |   (echo) Identifier           |   (echo) Sequence Number      |
 *    |   (unreach code 4) unused     |   Next-Hop MTU                |
 *    |   (param problem) Pointer     |   unused                      |
 *    |     Data: echo data, or the quoted IP header + original data ...
 *
 * The checksum covers the whole ICMP message (RFC 792).
 */
import type { ErrnoName } from '../core/errno.js';
import { checksum, finish } from './checksum.js';
import { IPV4_HEADER_LEN, readU16, readU32, writeU16, writeU32 } from './ipv4.js';

export const IcmpOff = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  /** The 32-bit "rest of header" word. */
  REST: 4,
  ID: 4,
  SEQ: 6,
  POINTER: 4,
  GATEWAY: 4,
  NEXT_HOP_MTU: 6,
  DATA: 8,
} as const;

export const ICMP_HEADER_LEN = 8;

export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACH: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAM_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
} as const;

/** Destination unreachable codes (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1). */
export const UnreachCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAG_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  HOST_ISOLATED: 8,
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  NET_TOS: 11,
  HOST_TOS: 12,
  ADMIN_PROHIBITED: 13,
  PRECEDENCE_VIOLATION: 14,
  PRECEDENCE_CUTOFF: 15,
} as const;

export const TimeExceededCode = {
  TTL: 0,
  REASSEMBLY: 1,
} as const;

/**
 * RFC 1812 section 4.3.2.3: an ICMP error quotes as much of the original datagram as fits
 * without the error exceeding 576 bytes (Linux icmp_send does the same): 576 - 20 - 8.
 */
export const ICMP_MAX_QUOTE = 576 - IPV4_HEADER_LEN - ICMP_HEADER_LEN;

/** Error types (the ones that quote a datagram and must never be answered with an error). */
export function isIcmpError(type: number): boolean {
  return (
    type === IcmpType.DEST_UNREACH ||
    type === IcmpType.SOURCE_QUENCH ||
    type === IcmpType.REDIRECT ||
    type === IcmpType.TIME_EXCEEDED ||
    type === IcmpType.PARAM_PROBLEM
  );
}

/**
 * Query types we know (echo, timestamp, information, address mask). RFC 1122 3.2.2 and
 * Linux: an ICMP message of another (unknown) type is treated like an error for the rule
 * "never send an ICMP error about an ICMP error".
 */
export function isIcmpQuery(type: number): boolean {
  return type === 0 || type === 8 || (type >= 13 && type <= 18);
}

export type IcmpParseError = 'too-short' | 'bad-checksum';

export class IcmpPacket {
  private b: Uint8Array = new Uint8Array(ICMP_HEADER_LEN);

  /** Validate an ICMP message (the IPv4 payload): length and checksum. */
  static parse(bytes: Uint8Array, verifyChecksum = true): IcmpPacket | IcmpParseError {
    const p = new IcmpPacket();
    const err = p.reset(bytes, verifyChecksum);
    return err === undefined ? p : err;
  }

  /** Re-point this view (full validation as parse()). Undefined on success. */
  reset(bytes: Uint8Array, verifyChecksum = true): IcmpParseError | undefined {
    if (bytes.length < ICMP_HEADER_LEN) return 'too-short';
    // RFC 1122 3.2.2: the checksum covers the whole message; discard on failure.
    if (verifyChecksum && checksum(bytes) !== 0xffff) return 'bad-checksum';
    this.b = bytes;
    return undefined;
  }

  get type(): number {
    return this.b[IcmpOff.TYPE]!;
  }
  get code(): number {
    return this.b[IcmpOff.CODE]!;
  }
  get checksum(): number {
    return readU16(this.b, IcmpOff.CHECKSUM);
  }
  /** The 32-bit word after the checksum. */
  get rest(): number {
    return readU32(this.b, IcmpOff.REST);
  }
  /** Echo / timestamp identifier. */
  get id(): number {
    return readU16(this.b, IcmpOff.ID);
  }
  /** Echo / timestamp sequence number. */
  get sequence(): number {
    return readU16(this.b, IcmpOff.SEQ);
  }
  /** Destination unreachable code 4: next-hop MTU (RFC 1191 section 4); 0 from old routers. */
  get nextHopMtu(): number {
    return readU16(this.b, IcmpOff.NEXT_HOP_MTU);
  }
  /** Parameter problem: the octet offset of the error in the quoted header. */
  get pointer(): number {
    return this.b[IcmpOff.POINTER]!;
  }
  /** Redirect: the gateway address. */
  get gateway(): number {
    return readU32(this.b, IcmpOff.GATEWAY);
  }
  /** Echo data, or the quoted datagram of an error. */
  get data(): Uint8Array {
    return this.b.subarray(ICMP_HEADER_LEN);
  }
  /** The whole message. */
  get message(): Uint8Array {
    return this.b;
  }
}

/**
 * Write type, code and rest-of-header at buf[off] and the checksum over the message
 * buf[off, off + len), whose data (from off + 8) is already in place. Returns len.
 */
export function emitIcmpHeader(buf: Uint8Array, off: number, type: number, code: number, rest: number, len: number): number {
  buf[off + IcmpOff.TYPE] = type;
  buf[off + IcmpOff.CODE] = code;
  buf[off + IcmpOff.CHECKSUM] = 0;
  buf[off + IcmpOff.CHECKSUM + 1] = 0;
  writeU32(buf, off + IcmpOff.REST, rest);
  writeU16(buf, off + IcmpOff.CHECKSUM, finish(checksum(buf, 0, off, len)));
  return len;
}

/**
 * Echo request (type 8) or reply (type 0) at buf[off] with `data` copied after the header
 * (pass undefined when the data is already in place, `dataLen` bytes long). Returns the length.
 */
export function emitEcho(
  buf: Uint8Array,
  off: number,
  type: 0 | 8,
  id: number,
  seq: number,
  data: Uint8Array | undefined,
  dataLen = data?.length ?? 0,
): number {
  if (data !== undefined) buf.set(data.subarray(0, dataLen), off + ICMP_HEADER_LEN);
  const rest = (((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0;
  return emitIcmpHeader(buf, off, type, 0, rest, ICMP_HEADER_LEN + dataLen);
}

/** How much of a datagram an error quotes (RFC 1812 4.3.2.3: fill up to 576 bytes). */
export function icmpQuoteLength(datagramLen: number, maxQuote = ICMP_MAX_QUOTE): number {
  return Math.min(datagramLen, maxQuote);
}

/**
 * An error message (destination unreachable, time exceeded, parameter problem...) at
 * buf[off], quoting the start of `original` (its IP header and payload). Returns the length.
 */
export function emitIcmpError(
  buf: Uint8Array,
  off: number,
  type: number,
  code: number,
  rest: number,
  original: Uint8Array,
  maxQuote = ICMP_MAX_QUOTE,
): number {
  const q = icmpQuoteLength(original.length, maxQuote);
  buf.set(original.subarray(0, q), off + ICMP_HEADER_LEN);
  return emitIcmpHeader(buf, off, type, code, rest, ICMP_HEADER_LEN + q);
}

/** Rest-of-header for fragmentation needed: next-hop MTU in the low 16 bits (RFC 1191 section 4). */
export function fragNeededRest(mtu: number): number {
  return mtu & 0xffff;
}

/** Rest-of-header for parameter problem: the pointer in the high octet (RFC 792). */
export function paramProblemRest(pointer: number): number {
  return ((pointer & 0xff) << 24) >>> 0;
}

/**
 * What an ICMP error means to a socket, as Linux maps it (net/ipv4/icmp.c icmp_err_convert
 * and icmp_unreach): undefined for messages that carry no error for the socket.
 * Deviations from Linux, because our errno set has no such names: host isolated (ENONET)
 * and parameter problem (EPROTO) map to EHOSTUNREACH.
 */
export function icmpErrno(type: number, code: number): ErrnoName | undefined {
  if (type === IcmpType.DEST_UNREACH) {
    switch (code) {
      case UnreachCode.NET:
      case UnreachCode.NET_UNKNOWN:
      case UnreachCode.NET_PROHIBITED:
      case UnreachCode.NET_TOS:
        return 'ENETUNREACH';
      case UnreachCode.PROTOCOL:
        return 'ENOPROTOOPT';
      case UnreachCode.PORT:
        return 'ECONNREFUSED';
      case UnreachCode.FRAG_NEEDED:
        return 'EMSGSIZE';
      case UnreachCode.SOURCE_ROUTE_FAILED:
        return 'EOPNOTSUPP';
      case UnreachCode.HOST_UNKNOWN:
        return 'EHOSTDOWN';
      default:
        // host, host isolated, host prohibited, host TOS, admin prohibited, precedence (and unknown codes).
        return 'EHOSTUNREACH';
    }
  }
  if (type === IcmpType.TIME_EXCEEDED) return 'EHOSTUNREACH';
  if (type === IcmpType.PARAM_PROBLEM) return 'EHOSTUNREACH';
  return undefined;
}
