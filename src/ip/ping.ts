/**
 * An ICMP echo client (the `ping` of RFC 792 / RFC 1122 3.2.2.6) over an Ipv4Layer.
 * Timers come from the layer's Clock, so it runs on virtual time in tests.
 */
import type { Timer } from '../core/clock.js';
import { StackError, type ErrnoName } from '../core/errno.js';
import { ICMP_HEADER_LEN } from './icmp.js';
import type { EchoListener, Ipv4Layer } from './layer.js';
import { ipToString } from './types.js';

export interface PingOptions {
  /** Echo identifier; default: a free random one. */
  id?: number;
  /** Sequence number; default 1. */
  seq?: number;
  /** Bytes of echo data (ping's -s); default 56, as ping. */
  size?: number;
  /** Give up after this many ms (ETIMEDOUT); default 1000. */
  timeoutMs?: number;
  ttl?: number;
}

export interface PingResult {
  /** Round-trip time in ms, on the layer's clock. */
  rttMs: number;
  /** TTL of the reply. */
  ttl: number;
  /** ICMP bytes received (header + data), as ping prints "64 bytes from". */
  bytes: number;
  seq: number;
  /** Who answered. */
  from: number;
}

/**
 * Send one echo request to dst and resolve on the matching reply (same identifier,
 * sequence number and data). Rejects with a StackError: ETIMEDOUT, the errno of an ICMP
 * error about the request (EHOSTUNREACH, ENETUNREACH, ...), EHOSTUNREACH when address
 * resolution fails, or what send() returned (ENETUNREACH, EMSGSIZE, EADDRINUSE for a
 * taken identifier, ...).
 */
export function ping(layer: Ipv4Layer, dst: number, opts: PingOptions = {}): Promise<PingResult> {
  const size = opts.size ?? 56;
  const seq = (opts.seq ?? 1) & 0xffff;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const clock = layer.clock;
  return new Promise<PingResult>((resolve, reject) => {
    const id = opts.id ?? layer.allocEchoId();
    if (id === undefined) {
      reject(new StackError('EAGAIN', 'no free ICMP echo identifier'));
      return;
    }
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i + 0x10) & 0xff;
    let timer: Timer | undefined;
    let sentAt = 0;
    const finish = (): void => {
      timer?.cancel();
      layer.unregisterEcho(id, listener);
    };
    const fail = (code: ErrnoName, msg: string): void => {
      finish();
      reject(new StackError(code, msg));
    };
    const listener: EchoListener = {
      reply(src, replySeq, ttl, message) {
        if (replySeq !== seq || message.length !== ICMP_HEADER_LEN + size) return;
        for (let i = 0; i < size; i++) if (message[ICMP_HEADER_LEN + i] !== data[i]) return;
        finish();
        resolve({ rttMs: clock.now() - sentAt, ttl, bytes: message.length, seq, from: src });
      },
      error(to, errSeq, errno) {
        if (errSeq !== seq || to !== dst) return;
        fail(errno, `ping ${ipToString(dst)} seq ${seq}`);
      },
      abort(errno) {
        fail(errno, `ping ${ipToString(dst)}: the IPv4 layer was closed`);
      },
    };
    if (!layer.registerEcho(id, listener)) {
      reject(new StackError('EADDRINUSE', `ICMP echo identifier ${id} is in use`));
      return;
    }
    timer = clock.createTimer(() => fail('ETIMEDOUT', `no echo reply from ${ipToString(dst)} within ${timeoutMs} ms`));
    sentAt = clock.now();
    timer.arm(sentAt + timeoutMs);
    const err = layer.sendEchoRequest(dst, id, seq, data, opts.ttl === undefined ? undefined : { ttl: opts.ttl });
    if (err !== undefined) fail(err, `ping ${ipToString(dst)}`);
  });
}
