/**
 * The virtio_net_hdr (virtio spec 1.x section 5.1.6 "Device Operation", Linux
 * include/uapi/linux/virtio_net.h) and the link-level offload contract built on it.
 *
 * With IFF_VNET_HDR every frame on a TAP fd carries this header in front. It says what the
 * kernel left undone (RX) or what it must still do (TX):
 *   - NEEDS_CSUM: the transport checksum is partial. The field at csum_start + csum_offset
 *     holds only the folded pseudo-header sum (not complemented); whoever delivers the frame
 *     to a wire computes the rest (Linux CHECKSUM_PARTIAL). A frame handed to us like this
 *     came from the local kernel and crossed no wire: nothing can have corrupted it.
 *   - DATA_VALID: the checksum was already verified (Linux CHECKSUM_UNNECESSARY).
 *   - gso_type/gso_size: a TCP "super-frame" of up to 64 KB whose payload is cut into
 *     gso_size pieces (TSO on TX, GRO/GSO on RX); hdr_len is the length of the headers that
 *     every piece repeats (a hint on RX).
 *
 *    0        1        2                 4                 6                 8                10
 *   +--------+--------+-----------------+-----------------+-----------------+-----------------+
 *   | flags  |gso_type| hdr_len (le16)  | gso_size (le16) | csum_start      | csum_offset     |
 *   +--------+--------+-----------------+-----------------+-----------------+-----------------+
 *   (+ num_buffers le16 in the 12-byte virtio_net_hdr_mrg_rxbuf form, TUNSETVNETHDRSZ 12)
 *
 * The 16-bit fields are little-endian: legacy tun uses the host's byte order unless told
 * otherwise (TUNSETVNETLE/BE), and TapLink enables offloads only on little-endian hosts.
 *
 * Links that carry this metadata (TapLink) implement OffloadLink; EthernetInterface is the
 * OffloadReceiver that maps it to the IPv4 layer's terms (device.ts: RxFlag, TxOffload).
 */
import type { Link, LinkReceiver } from './link.js';

/** sizeof(struct virtio_net_hdr) and sizeof(struct virtio_net_hdr_mrg_rxbuf). */
export const VNET_HDR_LEN = 10;
export const VNET_HDR_LEN_MRG = 12;

/** Field offsets. */
export const VnetOff = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
} as const;

/** `flags` bits (VIRTIO_NET_HDR_F_*). */
export const VnetFlag = {
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
  RSC_INFO: 4,
} as const;

/** `gso_type` values (VIRTIO_NET_HDR_GSO_*); ECN is a flag bit on top. */
export const VnetGso = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  ECN: 0x80,
} as const;

/** One virtio_net_hdr as plain fields. Links reuse one per direction: read it during the call. */
export class VnetHeader {
  flags = 0;
  gsoType: number = VnetGso.NONE;
  hdrLen = 0;
  gsoSize = 0;
  csumStart = 0;
  csumOffset = 0;

  /** All zero: checksum complete, no GSO. */
  clear(): this {
    this.flags = 0;
    this.gsoType = VnetGso.NONE;
    this.hdrLen = 0;
    this.gsoSize = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
    return this;
  }
}

/** Read the header at b[off, off + 10) into `out` (the caller checked the length). */
export function decodeVnetHeader(b: Uint8Array, off: number, out: VnetHeader): VnetHeader {
  out.flags = b[off + VnetOff.FLAGS]!;
  out.gsoType = b[off + VnetOff.GSO_TYPE]!;
  out.hdrLen = le16(b, off + VnetOff.HDR_LEN);
  out.gsoSize = le16(b, off + VnetOff.GSO_SIZE);
  out.csumStart = le16(b, off + VnetOff.CSUM_START);
  out.csumOffset = le16(b, off + VnetOff.CSUM_OFFSET);
  return out;
}

/**
 * Write `h` (or an all-zero header when undefined) at b[off, off + size); size is 10 or 12
 * (num_buffers, meaningful only from a device with mergeable buffers, is written as 0).
 */
export function encodeVnetHeader(b: Uint8Array, off: number, h: VnetHeader | undefined, size: number = VNET_HDR_LEN): void {
  if (h === undefined) {
    b.fill(0, off, off + size);
    return;
  }
  b[off + VnetOff.FLAGS] = h.flags;
  b[off + VnetOff.GSO_TYPE] = h.gsoType;
  putLe16(b, off + VnetOff.HDR_LEN, h.hdrLen);
  putLe16(b, off + VnetOff.GSO_SIZE, h.gsoSize);
  putLe16(b, off + VnetOff.CSUM_START, h.csumStart);
  putLe16(b, off + VnetOff.CSUM_OFFSET, h.csumOffset);
  if (size > VNET_HDR_LEN) b.fill(0, off + VNET_HDR_LEN, off + size);
}

function le16(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

function putLe16(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
}

// ---- the offload contract between a link and its receiver --------------------------------

/** What a link's peer (the kernel behind a TAP) does for us once offloads are on. */
export interface LinkOffloads {
  /** TX: completes a transport checksum left partial (NEEDS_CSUM). */
  readonly csum: boolean;
  /** TX: segments TCP/IPv4 super-frames (gso_type TCPV4); RX: may hand us GRO/GSO super-frames. */
  readonly tso4: boolean;
}

export const NO_OFFLOADS: LinkOffloads = Object.freeze({ csum: false, tso4: false });

/**
 * A Link whose frames carry a virtio_net_hdr's worth of metadata. RX: the receiver's
 * receive() gets a second argument (OffloadReceiver). TX: send() takes one.
 */
export interface OffloadLink extends Link {
  /**
   * Ask the peer to hand over (and accept) partial checksums and super-frames, or to stop
   * (TUNSETOFFLOAD). Returns what is on now; NO_OFFLOADS when the link or kernel cannot.
   */
  setOffloads(on: boolean): LinkOffloads;
  /** send() with the metadata for this frame (undefined: checksums complete, no GSO). */
  send(frame: Uint8Array, vnet?: VnetHeader): boolean;
}

/** A LinkReceiver that understands the metadata an OffloadLink hands with each frame. */
export interface OffloadReceiver extends LinkReceiver {
  /** `vnet` is undefined for a link without metadata; it is reused: read it during the call. */
  receive(frame: Uint8Array, vnet?: VnetHeader): void;
}

/** The link as an OffloadLink, when it is one. */
export function asOffloadLink(link: Link): OffloadLink | undefined {
  return typeof (link as Partial<OffloadLink>).setOffloads === 'function' ? (link as OffloadLink) : undefined;
}
