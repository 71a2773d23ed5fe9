/**
 * A fake IpSender for UDP unit tests: records every datagram handed to IPv4 (copied out
 * of the scratch buffer) and can be told to fail sends with an errno name.
 */
import type { Clock } from '../../src/core/clock.js';
import type { ErrnoName } from '../../src/core/errno.js';
import type { IpProtocolHandler, IpRxInfo, IpSendOptions, IpSender } from '../../src/ip/types.js';

export interface SentDatagram {
  dst: number;
  proto: number;
  bytes: Uint8Array;
  opts: IpSendOptions | undefined;
}

export class FakeIp implements IpSender {
  localAddr: number;
  readonly scratch = new Uint8Array(65535 - 20);
  readonly sent: SentDatagram[] = [];
  mtu = 1500;
  /** When set, send() fails with this errno and records nothing. */
  failWith: ErrnoName | undefined = undefined;

  constructor(localAddr: number) {
    this.localAddr = localAddr;
  }

  pathMtu(): number {
    return this.mtu;
  }

  send(dst: number, proto: number, len: number, opts?: IpSendOptions): ErrnoName | undefined {
    if (this.failWith !== undefined) return this.failWith;
    this.sent.push({ dst, proto, bytes: this.scratch.slice(0, len), opts });
    return undefined;
  }
}

/** The per-datagram info IPv4 hands to a transport. */
export function rxInfo(src: number, dst: number, datagram: Uint8Array = new Uint8Array(0)): IpRxInfo {
  return { src, dst, ttl: 64, tos: 0, datagram };
}

/**
 * Several fake IPv4 hosts on one wire: a datagram sent to a registered address is
 * delivered to that host's protocol handler after `delay` ms of the clock; when the
 * handler returns false (no socket), an ICMP port unreachable goes back to the sender,
 * as IPv4 would send it. Unknown destinations are dropped silently.
 */

export class FakeIpWire {
  readonly clock: Clock;
  delay = 1;
  readonly hosts = new Map<number, { ip: FakeIp; handler: IpProtocolHandler | undefined }>();
  delivered = 0;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  host(addr: number): FakeIp {
    const ip = new FakeIp(addr);
    const entry = { ip, handler: undefined as IpProtocolHandler | undefined };
    this.hosts.set(addr, entry);
    const send = ip.send.bind(ip);
    ip.send = (dst, proto, len, opts) => {
      const r = send(dst, proto, len, opts);
      if (r !== undefined) return r;
      const bytes = ip.sent[ip.sent.length - 1]!.bytes;
      const t = this.clock.createTimer(() => this.deliver(addr, dst, bytes));
      t.arm(this.clock.now() + this.delay);
      return undefined;
    };
    return ip;
  }

  attach(addr: number, handler: IpProtocolHandler): void {
    const h = this.hosts.get(addr);
    if (h === undefined) throw new Error(`no host ${addr}`);
    h.handler = handler;
  }

  private deliver(src: number, dst: number, bytes: Uint8Array): void {
    const to = this.hosts.get(dst);
    if (to?.handler === undefined) return;
    this.delivered++;
    if (!to.handler.receive(rxInfo(src, dst, bytes), bytes)) {
      const from = this.hosts.get(src);
      const t = this.clock.createTimer(() =>
        from?.handler?.receiveIcmpError({ type: 3, code: 3, errno: 'ECONNREFUSED', nextHopMtu: 0, src, dst, quoted: bytes.subarray(0, 8) }),
      );
      t.arm(this.clock.now() + this.delay);
    }
  }
}
