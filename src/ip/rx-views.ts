/**
 * The per-datagram receive state of the IPv4 layer (layer.ts): the views one receive
 * reuses, and the IpRxInfo handed to transports. Split out of layer.ts, which keeps the
 * logic; nothing here does more than hold fields.
 */
import { IcmpPacket } from './icmp.js';
import { Ipv4Packet } from './ipv4.js';
import type { IpRxInfo } from './types.js';

/**
 * The IpRxInfo handed to transports: plain fields, and the whole datagram as a getter
 * that makes its view only when a transport asks (most never do), so delivering a
 * padded frame allocates no extra view.
 */
export class RxInfo implements IpRxInfo {
  src = 0;
  dst = 0;
  ttl = 0;
  tos = 0;
  // ECMAScript private fields, not TypeScript `private`: `{ ...info }` in a transport
  // (copying the facts) must see only the IpRxInfo fields.
  #packet: Ipv4Packet | undefined = undefined;
  readonly #empty = new Uint8Array(0);
  #checksumVerified = false;

  /** Valid during the delivery only (a copy of the facts leaves it out, like `datagram`). */
  get checksumVerified(): boolean {
    return this.#checksumVerified;
  }

  set checksumVerified(v: boolean) {
    this.#checksumVerified = v;
  }

  get datagram(): Uint8Array {
    return this.#packet === undefined ? this.#empty : this.#packet.datagram;
  }

  /** The datagram being delivered; undefined outside a delivery. */
  set packet(p: Ipv4Packet | undefined) {
    this.#packet = p;
  }
}

/** The views and per-datagram flags one receive uses. */
export class RxViews {
  readonly rx = new Ipv4Packet();
  readonly whole = new Ipv4Packet();
  readonly quoted = new Ipv4Packet();
  readonly icmp = new IcmpPacket();
  readonly info = new RxInfo();
  /** The destination is an IP broadcast address. */
  broadcast = false;
  /** No ICMP error may answer this datagram: IP broadcast, or a link-layer broadcast (RFC 1122 3.2.2). */
  quiet = false;
  /** RxFlag bits the link gave with the datagram. */
  rxFlags = 0;
}
