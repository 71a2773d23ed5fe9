/**
 * A Runner is one system under test (SUT) behind the shared scenario executor:
 * the Linux kernel in a network namespace (linux/runner.ts) or our stack on virtual
 * time (stack/runner.ts). The executor plays the remote peer: it injects frames, watches
 * the frames the SUT sends, and makes the SUT's socket calls through `call()`.
 */
import type { Script } from './script.js';

/** Fixed addressing of every scenario: the SUT is 10.77.1.1, the scripted peer 10.77.1.2. */
export const SUT_IP = '10.77.1.1';
export const PEER_IP = '10.77.1.2';
export const SUT_MAC = '02:00:00:77:01:01';
export const PEER_MAC = '02:00:00:77:01:02';
/** Default ports: the SUT listens on 8080, the peer uses 50000 (and is connected to there). */
export const SUT_PORT = 8080;
export const PEER_PORT = 50000;

/** Socket calls as the runner sees them: `h` is the runner's own socket handle. */
export type SockOptValue = number | string | { onoff: number; linger: number };

export type SysRequest =
  | { op: 'socket'; type: 'stream' | 'dgram' }
  | { op: 'bind'; h: number; addr: string; port: number }
  | { op: 'listen'; h: number; backlog: number }
  | { op: 'accept'; h: number }
  | { op: 'connect'; h: number; addr: string; port: number }
  | { op: 'read'; h: number; len: number }
  | { op: 'write'; h: number; len: number }
  | { op: 'sendto'; h: number; len: number; addr: string; port: number }
  | { op: 'shutdown'; h: number; how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR' }
  | { op: 'close'; h: number }
  | { op: 'setsockopt'; h: number; level: string; name: string; value: SockOptValue }
  | { op: 'getsockopt'; h: number; level: string; name: string }
  | { op: 'fcntl'; h: number; cmd: 'F_SETFL' | 'F_GETFL'; flags?: number };

export interface SysResult {
  /** Return value; for socket/accept the runner's handle of the new socket. */
  ret: number;
  /** errno name when ret is -1. */
  errno?: string;
  /** getsockopt value. */
  value?: number | string;
  /** read: the bytes read (to check against the peer's payload pattern). */
  data?: Uint8Array;
}

/** Payload pattern: byte k of every stream (either direction) is (7k + 13) mod 256. */
export function patternByte(offset: number): number {
  return (offset * 7 + 13) & 255;
}

export function pattern(offset: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = patternByte(offset + i);
  return b;
}

export interface Runner {
  readonly name: string;
  /** 'real' runners live in wall-clock time; 'virtual' ones only move when waited on. */
  readonly timeKind: 'real' | 'virtual';
  /** Milliseconds since the runner started. */
  now(): number;
  /** Start delivering outbound frames (with their capture time) to `onOutbound`. */
  start(onOutbound: (frame: Uint8Array, t: number) => void): Promise<void>;
  /** Deliver one frame from the peer to the SUT. */
  inject(frame: Uint8Array): void;
  /** Make one socket call; resolves when it returns (a blocking call resolves later). */
  call(req: SysRequest): Promise<SysResult>;
  /**
   * Let time pass until `deadline` (runner time) or until `done()` is true. Real-time
   * runners re-check `done()` whenever `kick()` is called; virtual ones after every event.
   */
  wait(deadline: number, done: () => boolean): Promise<void>;
  /** Something the executor waits for may have happened (a frame, a call returning). */
  kick(): void;
  /** Tear everything down (idempotent). */
  close(): Promise<void>;
}

export interface RunnerFactory {
  readonly name: string;
  /** Whether this runner can run here; `reason` is printed when it cannot. */
  available(): Promise<{ ok: boolean; reason?: string }>;
  /** Whether the runner can honour this scenario's sysctls/features; returns the reason if not. */
  unsupported?(script: Script): string | undefined;
  create(script: Script): Promise<Runner>;
}

/**
 * The real-time half of a runner: `wait()` resolves at the deadline or as soon as
 * `done()` holds after a `kick()`.
 */
export class RealTimeWaiter {
  private readonly origin = performance.now();
  private waiter: { done: () => boolean; resolve: () => void; timer: NodeJS.Timeout } | undefined;

  now(): number {
    return performance.now() - this.origin;
  }

  wait(deadline: number, done: () => boolean): Promise<void> {
    if (done() || this.now() >= deadline) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        if (this.waiter === undefined) return;
        clearTimeout(this.waiter.timer);
        this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, deadline - this.now()));
      this.waiter = { done, resolve: finish, timer };
    });
  }

  kick(): void {
    const w = this.waiter;
    if (w !== undefined && w.done()) w.resolve();
  }
}
