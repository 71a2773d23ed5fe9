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
   */
  sendIpv4(nextHop: number, len: number): ErrnoName | undefined;
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
   */
  receive(datagram: Uint8Array, linkBroadcast?: boolean): void;
  /** Datagrams queued for `nextHop` were dropped: ARP resolution failed (EHOSTUNREACH). Each dropped datagram is passed. */
  resolutionFailed(nextHop: number, datagram: Uint8Array): void;
  /** End of a receive batch. */
  batchEnd(): void;
}
