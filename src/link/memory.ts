/**
 * An in-memory cable: two Links whose frames cross through the injected Clock.
 *
 * send() copies the frame and schedules its delivery on the other side; delivery happens
 * only when the clock fires (never inside send(), even with zero delay), so a receiver that
 * answers from its receive() never re-enters the sender. Each direction keeps FIFO order
 * and one Timer armed for its earliest pending delivery; every frame due at one clock step
 * is delivered as a group, followed by one batchEnd().
 *
 * With `bandwidthBps`, frames are serialised one after another (frame time = bits /
 * bandwidth, Ethernet preamble/FCS/gap not counted) behind a queue of at most `queueFrames`
 * frames; when it is full the new frame is dropped (tail drop, counted) and send() is false.
 * Whatever the rate, at most `maxInFlight` frames per direction are on the cable at once
 * (memory stays bounded however fast a sender is and however long the delay).
 */
import type { Clock, Timer } from '../core/clock.js';
import { counters } from '../core/counters.js';
import { ETH_HEADER_LEN } from './ethernet.js';
import type { Link, LinkReceiver } from './link.js';
import { Serializer } from './serializer.js';

export interface MemoryLinkOptions {
  /** Largest IP datagram carried (default 1500). Longer frames are dropped. */
  mtu?: number;
  /** One-way propagation delay in ms (default 0: the next clock step). */
  delayMs?: number;
  /** Serialisation rate in bits per second (default 0: unlimited). */
  bandwidthBps?: number;
  /** Frames waiting for serialisation before tail drop (default 1000; only with bandwidthBps). */
  queueFrames?: number;
  /**
   * Frames in flight (sent, not yet delivered) per direction before send() refuses more
   * (default 16384, counted in txDropQueue). Bounds the memory of a long, fast, delayed
   * cable: each frame in flight holds an MTU-sized buffer.
   */
  maxInFlight?: number;
}

export const MEMORY_LINK_COUNTERS = [
  'txFrames',
  'txBytes',
  'txDropQueue',
  'txDropTooBig',
  'txDropClosed',
  'rxFrames',
  'rxBytes',
  'rxDropNoReceiver',
] as const;

/** Pooled frame buffers are returned after delivery; keep at most this many spare. */
const POOL_MAX = 256;

export class MemoryLink implements Link {
  readonly mtu: number;
  readonly counters = counters(MEMORY_LINK_COUNTERS);
  /** The other end; set by memoryLinkPair(). */
  peer!: MemoryLink;
  private readonly clock: Clock;
  private readonly delayMs: number;
  private readonly bandwidthBps: number;
  private readonly queueFrames: number;
  private readonly maxInFlight: number;
  private readonly maxFrame: number;
  private receiver: LinkReceiver | undefined = undefined;
  private closed = false;
  // Outbound FIFO toward the peer: delivery times, buffers (from the pool) and lengths.
  private readonly times: number[] = [];
  private readonly bufs: Uint8Array[] = [];
  private readonly lens: number[] = [];
  private head = 0;
  private readonly timer: Timer;
  private readonly pool: Uint8Array[] = [];
  /** Serialisation at bandwidthBps behind queueFrames (undefined: unlimited rate). */
  private readonly serializer: Serializer | undefined;

  constructor(clock: Clock, opts: MemoryLinkOptions = {}) {
    this.clock = clock;
    this.mtu = opts.mtu ?? 1500;
    this.delayMs = opts.delayMs ?? 0;
    this.bandwidthBps = opts.bandwidthBps ?? 0;
    this.queueFrames = opts.queueFrames ?? 1000;
    this.maxInFlight = opts.maxInFlight ?? 16384;
    this.maxFrame = ETH_HEADER_LEN + this.mtu;
    if (!(this.delayMs >= 0)) throw new RangeError(`delayMs must be >= 0, got ${opts.delayMs}`);
    if (!(this.bandwidthBps >= 0)) throw new RangeError(`bandwidthBps must be >= 0, got ${opts.bandwidthBps}`);
    this.serializer = this.bandwidthBps > 0 ? new Serializer(this.bandwidthBps, this.queueFrames) : undefined;
    this.timer = clock.createTimer(() => this.deliverDue());
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) {
      this.counters.txDropClosed++;
      return false;
    }
    const len = frame.length;
    if (len > this.maxFrame) {
      this.counters.txDropTooBig++;
      return false;
    }
    if (this.times.length - this.head >= this.maxInFlight) {
      this.counters.txDropQueue++;
      return false;
    }
    const now = this.clock.now();
    let leave = now;
    if (this.serializer !== undefined) {
      leave = this.serializer.admit(now, len);
      if (leave < 0) {
        this.counters.txDropQueue++;
        return false;
      }
    }
    const buf = this.pool.pop() ?? new Uint8Array(this.maxFrame);
    buf.set(frame);
    const at = leave + this.delayMs;
    this.times.push(at);
    this.bufs.push(buf);
    this.lens.push(len);
    this.counters.txFrames++;
    this.counters.txBytes += len;
    const armed = this.timer.deadline;
    if (armed === undefined || at < armed) this.timer.arm(at);
    return true;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }

  /** Stop sending and receiving; frames in flight toward this end are discarded. */
  close(): void {
    this.closed = true;
    this.timer.cancel();
    this.clearQueue();
  }

  private clearQueue(): void {
    this.times.length = 0;
    this.bufs.length = 0;
    this.lens.length = 0;
    this.head = 0;
  }

  /** Frames sent by this end and not yet delivered. */
  get inFlight(): number {
    return this.times.length - this.head;
  }

  /** Deliver every frame due now that was queued before this step began, then batchEnd. */
  private deliverDue(): void {
    const now = this.clock.now();
    const end = this.times.length;
    const peer = this.peer;
    let delivered = 0;
    while (this.head < end && this.times[this.head]! <= now) {
      const i = this.head++;
      const buf = this.bufs[i]!;
      const len = this.lens[i]!;
      if (peer.deliver(buf.subarray(0, len))) delivered++;
      if (this.pool.length < POOL_MAX) this.pool.push(buf);
    }
    if (this.head === this.times.length) {
      this.clearQueue();
    } else if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.bufs.splice(0, this.head);
      this.lens.splice(0, this.head);
      this.head = 0;
    }
    if (delivered > 0) peer.receiver?.batchEnd?.();
    const next = this.times[this.head];
    if (next !== undefined && !this.closed) this.timer.arm(next);
  }

  /** Hand one frame to this end's receiver; false when nobody took it. */
  private deliver(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const r = this.receiver;
    if (r === undefined) {
      this.counters.rxDropNoReceiver++;
      return false;
    }
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    r.receive(frame);
    return true;
  }
}

/** Two connected Links: what one sends, the other receives (through the clock). */
export function memoryLinkPair(clock: Clock, opts: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
  const a = new MemoryLink(clock, opts);
  const b = new MemoryLink(clock, opts);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
