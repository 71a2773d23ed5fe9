/**
 * The contract between IPv4 and the transports above it (TCP, UDP, ICMP users).
 * Addresses are IPv4 addresses as unsigned 32-bit numbers in host order (10.77.0.2 =
 * 0x0a4d0002). Upward delivery goes through handlers registered per protocol number.
 */
import type { ErrnoName } from '../core/errno.js';

export const IpProto = { ICMP: 1, TCP: 6, UDP: 17 } as const;

/** Per-datagram facts handed up with a payload. One object is reused per packet: read it during the call. */
export interface IpRxInfo {
  src: number;
  dst: number;
  ttl: number;
  tos: number;
  /** The whole IPv4 datagram (header + payload); a view, valid only during the call. */
  datagram: Uint8Array;
  /**
   * The link vouches for the transport checksum (the kernel verified it, or the datagram
   * comes from the local kernel with a partial checksum and crossed no wire): the transport
   * skips its own check. Absent or false: verify.
   */
  checksumVerified?: boolean;
}

/** An ICMP error received about a datagram we sent, already matched to a transport protocol. */
export interface IcmpErrorInfo {
  /** ICMP type and code (3 = destination unreachable, 11 = time exceeded, 12 = parameter problem). */
  type: number;
  code: number;
  /** What the error means to a socket (port unreachable -> ECONNREFUSED, ...). */
  errno: ErrnoName;
  /** For fragmentation-needed (type 3 code 4): the next-hop MTU, else 0. */
  nextHopMtu: number;
  /** Source and destination of the ORIGINAL datagram we sent. */
  src: number;
  dst: number;
  /** The original transport header bytes quoted by the ICMP error (at least 8 bytes). */
  quoted: Uint8Array;
}

export interface IpProtocolHandler {
  /**
   * A datagram for us (after reassembly). `payload` is the transport header and data, a
   * view valid only during the call. Return false when no endpoint wants it and IPv4
   * should answer with ICMP port unreachable (UDP does this; TCP answers with RST itself
   * and returns true).
   */
  receive(info: IpRxInfo, payload: Uint8Array): boolean;
  /** An ICMP error about a datagram this protocol sent. */
  receiveIcmpError(err: IcmpErrorInfo): void;
  /**
   * Packets queued for address resolution toward `dst` were dropped because resolution
   * failed (EHOSTUNREACH after ARP retries). Optional.
   */
  unreachable?(dst: number, errno: ErrnoName): void;
  /** End of a receive batch (see LinkReceiver.batchEnd). Optional. */
  batchEnd?(): void;
}

export interface IpSendOptions {
  ttl?: number;
  tos?: number;
  /** Set the Don't Fragment bit (TCP does, for PMTU discovery). */
  dontFragment?: boolean;
  /**
   * Checksum offload (only when `IpSender.offloads.csum`): the transport's checksum field,
   * `csumOffset` octets into its header, holds the folded pseudo-header sum over the whole
   * transport length, not complemented; the device completes it.
   */
  csumOffset?: number;
  /**
   * TCP segmentation offload (only with csumOffset and `IpSender.offloads.tsoMaxSize`): the
   * device cuts the payload into segments of `gsoSize` octets, each behind a copy of the
   * IPv4 and TCP headers (FIN and PSH on the last only). The datagram may exceed the path
   * MTU, up to tsoMaxSize; each segment must fit it.
   */
  gsoSize?: number;
}

/** What the layers below do for a transport (IpSender.offloads). */
export interface IpOffloads {
  /** Completes a partial transport checksum (IpSendOptions.csumOffset). */
  readonly csum: boolean;
  /** Largest TCP datagram it segments (IpSendOptions.gsoSize), 0 when it does not. */
  readonly tsoMaxSize: number;
}

/**
 * What a transport uses to send. It builds its datagram in place in `scratch` (no copy),
 * then calls send() with the length; IPv4 and Ethernet headers are written in front of it
 * in the same buffer. `scratch` is valid until the next send().
 */
export interface IpSender {
  /** Our IPv4 address. */
  readonly localAddr: number;
  /** Buffer for one outgoing transport datagram (header + data), at least 65515 bytes. */
  readonly scratch: Uint8Array;
  /** Largest IP datagram (header included) toward dst: link MTU, lowered by PMTU discovery. */
  pathMtu(dst: number): number;
  /**
   * Send scratch[0, len) to dst as protocol `proto`. Returns undefined on success (sent,
   * or queued while ARP resolves) or an errno name (ENETUNREACH when there is no route,
   * EMSGSIZE when too big with DF set, ENOBUFS when the resolution queue is full).
   * With csumOffset/gsoSize, EAGAIN means the offload cannot be done for this datagram now
   * (loopback destination, next hop not resolved, path too small): nothing was sent, and
   * `scratch` is intact; send it again without offload (segmented and with full checksums).
   */
  send(dst: number, proto: number, len: number, opts?: IpSendOptions): ErrnoName | undefined;
  /** Checksum and segmentation offloads available to transports. Absent: none. */
  readonly offloads?: IpOffloads;
}

/** Address formatting and parsing (defined in core so the link layer can use them too). */
export { ipToString, parseIp } from '../core/ipaddr.js';
