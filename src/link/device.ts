/**
 * The contract between an Ethernet interface (src/link/interface.ts: framing, ARP) and
 * IPv4 above it. IPv4 writes its datagram in place into `txFrame` at `headroom` (room
 * for the Ethernet header in front), then calls sendIpv4(); the interface fills in the
 * Ethernet header and hands the frame to the Link, or queues a copy while ARP resolves.
 */
import type { ErrnoName } from '../core/errno.js';

export interface NetDevice {
  /** Largest IP datagram the link carries (e.g. 1500). */
  readonly mtu: number;
  /** Our MAC address (6 bytes). */
  readonly mac: Uint8Array;
  /** Preallocated buffer for one outgoing frame, at least headroom + 65535 bytes. */
  readonly txFrame: Uint8Array;
  /** Offset in txFrame where the IP datagram starts (14 for plain Ethernet). */
  readonly headroom: number;
  /** Our IPv4 address, used to answer ARP requests and as ARP sender address. */
  setIpv4Address(addr: number): void;
  /**
   * Send txFrame[headroom, headroom + len) as an IPv4 datagram to the on-link neighbour
   * `nextHop` (resolved with ARP; broadcast for 255.255.255.255). Returns undefined when
   * sent or queued for resolution, or ENOBUFS when the resolution queue is full.
   * With `offload` (only what `offloads` says the device does) the link completes the
   * transport checksum and/or segments the datagram; EAGAIN then means "not now" (the next
   * hop is not resolved, and a datagram waiting for ARP cannot keep its offload): nothing
   * was sent or queued, and the caller sends it again without offload.
   */
  sendIpv4(nextHop: number, len: number, offload?: TxOffload): ErrnoName | undefined;
  /** What the device does for the IPv4 layer (checksum completion, TCP segmentation). Absent: nothing. */
  readonly offloads?: DeviceOffloads;
  /** Send an arbitrary datagram (copied), e.g. a fragment or a queued packet. */
  sendIpv4Copy(nextHop: number, datagram: Uint8Array): ErrnoName | undefined;
  setIpv4Receiver(receiver: Ipv4Receiver): void;
}

export interface Ipv4Receiver {
  /**
   * An IPv4 datagram from the wire (the Ethernet payload; may carry trailing padding).
   * Valid only during the call. `linkBroadcast` is true when the frame was not addressed
   * to our unicast MAC (link-layer broadcast or multicast, or another host's frame seen in
   * promiscuous mode), so IPv4 can apply RFC 1122 3.2.2 (no ICMP error about a datagram
   * sent as a link-layer broadcast) and 3.3.6. Omitted means false (unicast to us).
   * `rxFlags` (RxFlag bits, default 0) carry what the link vouches for: a datagram with
   * CSUM_VERIFIED needs no transport checksum check; GSO marks a super-frame (one datagram
   * carrying many MSS of TCP payload, up to 65535 bytes, larger than the MTU).
   */
  receive(datagram: Uint8Array, linkBroadcast?: boolean, rxFlags?: number): void;
  /** Datagrams queued for `nextHop` were dropped: ARP resolution failed (EHOSTUNREACH). Each dropped datagram is passed. */
  resolutionFailed(nextHop: number, datagram: Uint8Array): void;
  /** End of a receive batch. */
  batchEnd(): void;
}

/** Per-datagram facts from the link (Ipv4Receiver.receive's rxFlags). */
export const RxFlag = {
  /**
   * The transport checksum needs no check: verified by the kernel (virtio DATA_VALID), or
   * never computed because the datagram comes from the local kernel and crossed no wire
   * (NEEDS_CSUM: the field holds only the pseudo-header sum).
   */
  CSUM_VERIFIED: 1,
  /** A GRO/GSO TCP super-frame. */
  GSO: 2,
} as const;

/** What a device completes or segments (NetDevice.offloads). */
export interface DeviceOffloads {
  /** Completes a transport checksum left partial (TxOffload.csumStart/csumOffset). */
  readonly csum: boolean;
  /** Largest TCP/IPv4 datagram it segments (TSO), 0 when it does not. */
  readonly tsoMaxSize: number;
}

/**
 * An offload request for one datagram, offsets relative to its IPv4 header. The transport
 * checksum field at csumStart + csumOffset holds the folded pseudo-header sum, computed
 * with the whole transport length (Linux CHECKSUM_PARTIAL, what tcp4_gso_segment expects).
 */
export interface TxOffload {
  /** Where the checksummed area (the transport header) starts: the IPv4 header length. */
  csumStart: number;
  /** Offset of the checksum field in the transport header (TCP 16, UDP 6). */
  csumOffset: number;
  /** TCP segmentation: payload octets per segment, 0 for checksum offload alone. */
  gsoSize: number;
}
