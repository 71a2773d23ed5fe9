/**
 * Ethernet II (DIX) frames: 6-byte destination, 6-byte source, 2-byte EtherType, payload.
 * No FCS: the TAP device and the in-memory links carry frames without it.
 *
 * The payload is everything after the header. A minimum-size frame (60 bytes without FCS,
 * IEEE 802.3 clause 3.2.8) carries padding after short payloads, so the layer above must
 * trim by its own length field (IPv4 total length, ARP's fixed size).
 */
import { readU16, writeU16 } from '../core/bytes.js';
import { MAC_LEN, copyMac, formatMac, isBroadcastMac, isMulticastMac, macEquals } from './mac.js';

// ---- Header layout ----
export const ETH_OFF_DST = 0;
export const ETH_OFF_SRC = 6;
export const ETH_OFF_TYPE = 12;
export const ETH_HEADER_LEN = 14;
/** Smallest frame on the wire without the FCS (64 - 4). Shorter frames are padded by senders. */
export const ETH_MIN_FRAME = 60;

export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPv6: 0x86dd,
} as const;

/**
 * Values below 0x0600 are IEEE 802.3 length fields, not EtherTypes (IEEE 802.3 clause 3.2.6);
 * we speak only Ethernet II.
 */
export const ETHERTYPE_MIN = 0x0600;

/** Why untrusted bytes were refused; returned by parse(), never thrown. */
export class ParseError {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
  toString(): string {
    return this.reason;
  }
}

/**
 * A view of one Ethernet II frame. Getters never throw once the view was made by parse()
 * (or reset() returned no error). Byte-array getters return subarrays (no copy).
 */
export class EthernetFrame {
  private b: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.b = bytes;
  }

  /** Validate untrusted bytes: at least a full header. Returns a view or the reason. */
  static parse(bytes: Uint8Array): EthernetFrame | ParseError {
    const err = checkFrame(bytes);
    return err === undefined ? new EthernetFrame(bytes) : new ParseError(err);
  }

  /** A view for writing a frame into `buf` (sized by the caller; at least 14 bytes). */
  static overlay(buf: Uint8Array): EthernetFrame {
    if (buf.length < ETH_HEADER_LEN) throw new RangeError(`ethernet overlay needs ${ETH_HEADER_LEN} bytes, got ${buf.length}`);
    return new EthernetFrame(buf);
  }

  /** A reusable view for the receive path: reset() it per frame instead of allocating. */
  static reusable(): EthernetFrame {
    return new EthernetFrame(new Uint8Array(ETH_HEADER_LEN));
  }

  /** Re-point this view at `bytes` after the same check as parse(); returns the reason on failure (view unchanged). */
  reset(bytes: Uint8Array): string | undefined {
    const err = checkFrame(bytes);
    if (err === undefined) this.b = bytes;
    return err;
  }

  get bytes(): Uint8Array {
    return this.b;
  }
  get length(): number {
    return this.b.length;
  }
  get dst(): Uint8Array {
    return this.b.subarray(ETH_OFF_DST, ETH_OFF_DST + MAC_LEN);
  }
  get src(): Uint8Array {
    return this.b.subarray(ETH_OFF_SRC, ETH_OFF_SRC + MAC_LEN);
  }
  get ethertype(): number {
    return readU16(this.b, ETH_OFF_TYPE);
  }
  /** Everything after the header, padding included. */
  get payload(): Uint8Array {
    return this.b.subarray(ETH_HEADER_LEN);
  }
  get payloadLength(): number {
    return this.b.length - ETH_HEADER_LEN;
  }

  dstIsBroadcast(): boolean {
    return isBroadcastMac(this.b, ETH_OFF_DST);
  }
  /** Group bit set: multicast or broadcast. */
  dstIsMulticast(): boolean {
    return isMulticastMac(this.b, ETH_OFF_DST);
  }
  dstEquals(mac: Uint8Array): boolean {
    return macEquals(this.b, ETH_OFF_DST, mac, 0);
  }
  srcEquals(mac: Uint8Array): boolean {
    return macEquals(this.b, ETH_OFF_SRC, mac, 0);
  }

  setDst(mac: Uint8Array): void {
    copyMac(this.b, ETH_OFF_DST, mac);
  }
  setSrc(mac: Uint8Array): void {
    copyMac(this.b, ETH_OFF_SRC, mac);
  }
  setEthertype(t: number): void {
    writeU16(this.b, ETH_OFF_TYPE, t);
  }

  toString(): string {
    const t = this.ethertype.toString(16).padStart(4, '0');
    return `${formatMac(this.b, ETH_OFF_SRC)} > ${formatMac(this.b, ETH_OFF_DST)} type 0x${t} len ${this.b.length}`;
  }
}

function checkFrame(bytes: Uint8Array): string | undefined {
  if (bytes.length < ETH_HEADER_LEN) return `frame of ${bytes.length} bytes is shorter than the ${ETH_HEADER_LEN}-byte Ethernet header`;
  return undefined;
}

/** Write an Ethernet II header at buf[off, off+14). No allocation. */
export function emitEthernetHeader(buf: Uint8Array, off: number, dst: Uint8Array, src: Uint8Array, ethertype: number): void {
  copyMac(buf, off + ETH_OFF_DST, dst);
  copyMac(buf, off + ETH_OFF_SRC, src);
  writeU16(buf, off + ETH_OFF_TYPE, ethertype);
}

/** EtherType of a frame known to be at least 14 bytes long. */
export function ethertypeOf(frame: Uint8Array): number {
  return readU16(frame, ETH_OFF_TYPE);
}
