/**
 * What every socket kind shares: the wait queue that blocked calls sleep on (Linux
 * sk_sleep), the O_NONBLOCK flag, timeouts, and the poll mask. A blocking call is a loop:
 * try the operation without blocking; if it would block, sleep on the wait queue until
 * the protocol wakes it (data, space, state change, error, close) or a deadline on the
 * stack's Clock passes, then try again. Wake-ups cannot be lost: the check and the
 * enqueue happen in the same synchronous turn, and the protocol only calls back from
 * its own (synchronous) event processing.
 */
import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { TcpService } from '../tcp/api.js';
import type { UdpLayer } from '../udp/udp.js';
import { sockError } from './errno.js';

/** What sockets need from the stack. */
export interface SockEnv {
  tcp: TcpService | undefined;
  udp: UdpLayer | undefined;
  clock: Clock;
  /** Our IPv4 address (host order): the source of connections from INADDR_ANY. */
  localAddr: number;
  logger: Logger | undefined;
}

type Waiter = () => void;

/**
 * Sleepers on one socket. wake() runs and forgets them all; each re-checks its condition.
 * The list exists only while someone sleeps (an idle socket holds none).
 */
export class WaitQueue {
  private waiters: Waiter[] | undefined = undefined;

  add(w: Waiter): void {
    (this.waiters ??= []).push(w);
  }

  remove(w: Waiter): void {
    const ws = this.waiters;
    if (ws === undefined) return;
    const i = ws.indexOf(w);
    if (i >= 0) ws.splice(i, 1);
    if (ws.length === 0) this.waiters = undefined;
  }

  get size(): number {
    return this.waiters?.length ?? 0;
  }

  wake(): void {
    const ws = this.waiters;
    if (ws === undefined) return;
    this.waiters = undefined;
    for (const w of ws) w();
  }
}

/**
 * Sleep until one of the queues wakes (true) or the absolute deadline on `clock` passes
 * (false). `deadline` undefined = no timeout.
 */
export function sleepOn(clock: Clock, queues: readonly WaitQueue[], deadline: number | undefined): Promise<boolean> {
  if (deadline !== undefined && deadline <= clock.now()) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let timer: Timer | undefined = undefined;
    const done = (woken: boolean): void => {
      for (const q of queues) q.remove(waiter);
      timer?.cancel();
      resolve(woken);
    };
    const waiter = (): void => done(true);
    for (const q of queues) q.add(waiter);
    if (deadline !== undefined) {
      timer = clock.createTimer(() => done(false));
      timer.arm(deadline);
    }
  });
}

export abstract class Sock {
  abstract readonly type: number;
  readonly env: SockEnv;
  readonly wq = new WaitQueue();
  /** O_NONBLOCK. */
  nonblock = false;
  closed = false;
  /** SO_RCVTIMEO / SO_SNDTIMEO in ms; 0 = block forever. */
  rcvTimeoMs = 0;
  sndTimeoMs = 0;
  /** shutdown() flags as seen by this socket (RCV_SHUTDOWN / SEND_SHUTDOWN). */
  shutRd = false;
  shutWr = false;
  /** SO_REUSEADDR. */
  reuseAddr = false;

  constructor(env: SockEnv) {
    this.env = env;
  }

  /** Readiness for poll(): POLLIN/POLLOUT/POLLERR/POLLHUP/POLLRDHUP bits. */
  abstract pollMask(): number;

  /** Release protocol resources; wakes every sleeper (they then fail with EBADF). */
  abstract close(): void;

  /** Deadline for a blocking receive (SO_RCVTIMEO) or send (SO_SNDTIMEO), or undefined. */
  deadline(send: boolean): number | undefined {
    const t = send ? this.sndTimeoMs : this.rcvTimeoMs;
    return t > 0 ? this.env.clock.now() + t : undefined;
  }

  /** Sleep on this socket's queue; false when the deadline passed. */
  sleep(deadline: number | undefined): Promise<boolean> {
    return sleepOn(this.env.clock, [this.wq], deadline);
  }

  /** Throw EBADF if the descriptor was closed while a call slept. */
  checkOpen(call: string): void {
    if (this.closed) throw sockError('EBADF', call, 'the socket was closed while the call was blocked');
  }

  /** Wake every call sleeping on this socket (they re-check their condition). */
  wake(): void {
    this.wq.wake();
  }
}
