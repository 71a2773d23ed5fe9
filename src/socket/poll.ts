/**
 * poll() and select() over sockets, for porting C multiplexing servers. Readiness comes
 * from each socket's pollMask() (Linux tcp_poll / datagram_poll); waiting sleeps on the
 * wait queues of every polled socket at once, with the timeout on the stack's Clock.
 */
import type { Clock } from '../core/clock.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDHUP } from './constants.js';
import type { Sock, WaitQueue } from './sock.js';
import { sleepOn } from './sock.js';

/** struct pollfd. poll() fills `revents`. A negative fd is ignored (revents 0), as in C. */
export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

/** POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not. */
const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

/**
 * Fill revents for every entry; return how many are non-zero, or -1 when `lookup` found
 * a descriptor that is not ours at all (the caller reports it as POLLNVAL already).
 */
function scan(fds: PollFd[], lookup: (fd: number) => Sock | undefined): number {
  let ready = 0;
  for (const p of fds) {
    if (p.fd < 0) {
      p.revents = 0;
      continue;
    }
    const s = lookup(p.fd);
    p.revents = s === undefined ? POLLNVAL : s.pollMask() & (p.events | ALWAYS);
    if (p.revents !== 0) ready++;
  }
  return ready;
}

/**
 * Wait until at least one descriptor is ready or `timeoutMs` passes (negative = forever,
 * 0 = just look). Returns the number of ready entries (0 on timeout).
 */
export async function pollSockets(
  clock: Clock,
  fds: PollFd[],
  timeoutMs: number,
  lookup: (fd: number) => Sock | undefined,
): Promise<number> {
  const deadline = timeoutMs < 0 ? undefined : clock.now() + timeoutMs;
  for (;;) {
    const ready = scan(fds, lookup);
    if (ready > 0 || timeoutMs === 0) return ready;
    const queues: WaitQueue[] = [];
    for (const p of fds) {
      const s = p.fd < 0 ? undefined : lookup(p.fd);
      if (s !== undefined) queues.push(s.wq);
    }
    if (!(await sleepOn(clock, queues, deadline))) return scan(fds, lookup);
  }
}

/** fd_set for select(): FD_ZERO / FD_SET / FD_CLR / FD_ISSET as methods (and functions below). */
export class FdSet {
  private readonly fds = new Set<number>();

  zero(): void {
    this.fds.clear();
  }

  set(fd: number): void {
    this.fds.add(fd);
  }

  clr(fd: number): void {
    this.fds.delete(fd);
  }

  isSet(fd: number): boolean {
    return this.fds.has(fd);
  }

  /** The descriptors in the set, ascending. */
  list(): number[] {
    return [...this.fds].sort((a, b) => a - b);
  }

  /** A copy (C programs copy fd_set before each select: `cpy_reads = reads`). */
  clone(): FdSet {
    const c = new FdSet();
    for (const fd of this.fds) c.set(fd);
    return c;
  }
}

export function FD_ZERO(set: FdSet): void {
  set.zero();
}
export function FD_SET(fd: number, set: FdSet): void {
  set.set(fd);
}
export function FD_CLR(fd: number, set: FdSet): void {
  set.clr(fd);
}
export function FD_ISSET(fd: number, set: FdSet): boolean {
  return set.isSet(fd);
}

/** Readiness as select() sees it (Linux maps poll bits to the three sets like this). */
export const SELECT_READ = POLLIN | POLLHUP | POLLERR | POLLRDHUP;
export const SELECT_WRITE = POLLOUT | POLLERR;
export const SELECT_EXCEPT = POLLPRI;
