/**
 * The UDP header (RFC 768): a view over received bytes and an emitter that writes a
 * datagram in place.
 *
 *   0      7 8     15 16    23 24    31
 *  +--------+--------+--------+--------+
 *  |     Source      |   Destination   |
 *  |      Port       |      Port       |
 *  +--------+--------+--------+--------+
 *  |     Length      |    Checksum     |
 *  +--------+--------+--------+--------+
 *  |          data octets ...
 */
import { finishChecksum, internetSum, pseudoHeaderSum } from '../ip/checksum.js';
import { IpProto } from '../ip/types.js';

export const UDP_HEADER_LEN = 8;
const OFF_SRC_PORT = 0;
const OFF_DST_PORT = 2;
const OFF_LENGTH = 4;
const OFF_CHECKSUM = 6;

/** Largest UDP payload in one IPv4 datagram: 65535 - 20 (IPv4 header) - 8 (UDP header). */
export const UDP_MAX_PAYLOAD = 65507;

export type UdpParseError = 'short-header' | 'bad-length' | 'bad-checksum';

/**
 * A validated UDP datagram. Produced only by `parse()`, after which every getter is safe.
 * It is a view: it keeps no copy and is valid only as long as the bytes it wraps.
 */
export class UdpView {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /**
   * Validate a received UDP datagram (the IPv4 payload). `src`/`dst` are the IPv4
   * addresses, needed for the pseudo-header checksum.
   *
   * RFC 768: "Length is the length in octets of this user datagram including this
   * header and the data. (This means the minimum value of the length is eight.)"
   * Octets after `Length` (IPv4 payload longer than the UDP length) are ignored, as Linux does.
   *
   * RFC 768: "An all zero transmitted checksum value means that the transmitter generated
   * no checksum"; RFC 1122 4.1.3.4: "If a UDP datagram is received with a checksum that
   * is non-zero and invalid, UDP MUST silently discard the datagram."
   * `verifyChecksum` false skips the check when the link vouches for it (IpRxInfo
   * checksumVerified, e.g. a partial checksum from the local kernel through the TAP).
   */
  static parse(bytes: Uint8Array, src: number, dst: number, verifyChecksum = true): UdpView | UdpParseError {
    if (bytes.length < UDP_HEADER_LEN) return 'short-header';
    const length = (bytes[OFF_LENGTH]! << 8) | bytes[OFF_LENGTH + 1]!;
    if (length < UDP_HEADER_LEN || length > bytes.length) return 'bad-length';
    const dgram = length === bytes.length ? bytes : bytes.subarray(0, length);
    const csum = (bytes[OFF_CHECKSUM]! << 8) | bytes[OFF_CHECKSUM + 1]!;
    if (csum !== 0 && verifyChecksum) {
      const sum = internetSum(dgram, pseudoHeaderSum(src, dst, IpProto.UDP, length));
      if (sum !== 0xffff) return 'bad-checksum';
    }
    return new UdpView(dgram);
  }

  get srcPort(): number {
    return (this.bytes[OFF_SRC_PORT]! << 8) | this.bytes[OFF_SRC_PORT + 1]!;
  }

  get dstPort(): number {
    return (this.bytes[OFF_DST_PORT]! << 8) | this.bytes[OFF_DST_PORT + 1]!;
  }

  get length(): number {
    return this.bytes.length;
  }

  get checksum(): number {
    return (this.bytes[OFF_CHECKSUM]! << 8) | this.bytes[OFF_CHECKSUM + 1]!;
  }

  /** The data octets (a view). */
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LEN);
  }
}

/** Source and destination ports of a UDP header quoted in an ICMP error (only 8 bytes are guaranteed). */
export function quotedPorts(quoted: Uint8Array): { srcPort: number; dstPort: number } | undefined {
  if (quoted.length < 4) return undefined;
  return {
    srcPort: (quoted[OFF_SRC_PORT]! << 8) | quoted[OFF_SRC_PORT + 1]!,
    dstPort: (quoted[OFF_DST_PORT]! << 8) | quoted[OFF_DST_PORT + 1]!,
  };
}

/**
 * Write a UDP header in front of `payloadLen` data octets already in buf[8, 8 + payloadLen)
 * and fill in the checksum. Returns the datagram length.
 *
 * RFC 768: "If the computed checksum is zero, it is transmitted as all ones (the
 * equivalent in one's complement arithmetic)." We always send a checksum
 * (RFC 1122 4.1.3.4: "An application MAY optionally be able to control whether a UDP
 * checksum will be generated, but it MUST default to checksumming on.").
 */
export function emitUdp(
  buf: Uint8Array,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  payloadLen: number,
): number {
  const length = UDP_HEADER_LEN + payloadLen;
  buf[OFF_SRC_PORT] = srcPort >>> 8;
  buf[OFF_SRC_PORT + 1] = srcPort & 0xff;
  buf[OFF_DST_PORT] = dstPort >>> 8;
  buf[OFF_DST_PORT + 1] = dstPort & 0xff;
  buf[OFF_LENGTH] = length >>> 8;
  buf[OFF_LENGTH + 1] = length & 0xff;
  buf[OFF_CHECKSUM] = 0;
  buf[OFF_CHECKSUM + 1] = 0;
  let csum = finishChecksum(internetSum(buf, pseudoHeaderSum(src, dst, IpProto.UDP, length), 0, length));
  if (csum === 0) csum = 0xffff;
  buf[OFF_CHECKSUM] = csum >>> 8;
  buf[OFF_CHECKSUM + 1] = csum & 0xff;
  return length;
}
