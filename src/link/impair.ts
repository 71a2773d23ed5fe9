/**
 * A Link decorator that misbehaves on purpose, on the send path, from a seeded Rng (so a
 * simulation replays exactly from its seed). In the spirit of Linux netem and smoltcp's
 * FaultInjector. Per frame, in this order:
 *
 * 1. loss: uniform with probability `loss`, or bursty with the Gilbert–Elliott model
 *    (`burst`): a two-state Markov chain (Good/Bad) stepped once per frame, with a loss
 *    probability per state. Mean burst length is 1 / pBadToGood; the long-run loss rate is
 *    (pGoodToBad * lossBad + pBadToGood * lossGood) / (pGoodToBad + pBadToGood).
 * 2. rate limit: serialise at `bandwidthBps` behind a queue of `queueFrames` (tail drop).
 * 3. duplication with probability `duplicate` (the copy gets its own delay and corruption).
 * 4. per copy: corruption with probability `corrupt` (one random bit of one random byte,
 *    anywhere in the frame, so the checksums of the layers above must catch it); delay
 *    `delayMs` + uniform jitter in [0, jitterMs); with probability `reorder`, an extra
 *    `reorderDelayMs` that lets later frames overtake it.
 *
 * Lost frames still make send() return true (the wire took them); a full rate-limit queue,
 * or `maxHeld` delayed frames already held, returns false. Frames with no delay at all go
 * straight to the inner link, whose verdict send() returns.
 */
import type { Clock, Timer } from '../core/clock.js';
import { counters } from '../core/counters.js';
import type { Rng } from '../core/rng.js';
import { TimeHeap } from '../core/heap.js';
import type { Link, LinkReceiver } from './link.js';
import { Serializer } from './serializer.js';

export interface GilbertElliott {
  /** Probability of moving Good -> Bad, per frame. */
  pGoodToBad: number;
  /** Probability of moving Bad -> Good, per frame. */
  pBadToGood: number;
  /** Loss probability in the Bad state (default 1). */
  lossBad?: number;
  /** Loss probability in the Good state (default 0). */
  lossGood?: number;
}

export interface ImpairOptions {
  /** Uniform loss probability (ignored when `burst` is set). */
  loss?: number;
  /** Bursty loss (Gilbert–Elliott); replaces `loss`. */
  burst?: GilbertElliott;
  duplicate?: number;
  /** Probability a frame is held back by `reorderDelayMs` extra. */
  reorder?: number;
  /** Extra delay of held-back frames (default 10 ms). */
  reorderDelayMs?: number;
  delayMs?: number;
  jitterMs?: number;
  /** Probability of flipping one random bit of the frame. */
  corrupt?: number;
  /** Rate limit in bits per second (0 = none). */
  bandwidthBps?: number;
  /** Frames waiting for the rate limiter before tail drop (default 1000). */
  queueFrames?: number;
  /** Delayed frames held at once before further delayed copies are dropped (default 16384, counted in heldDrops). */
  maxHeld?: number;
}

export const IMPAIR_COUNTERS = [
  'offered',
  'sent',
  'dropped',
  'queueDrops',
  'duplicated',
  'reordered',
  'corrupted',
  'heldDrops',
] as const;

export class ImpairedLink implements Link {
  readonly counters = counters(IMPAIR_COUNTERS);
  private readonly inner: Link;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly o: Required<Omit<ImpairOptions, 'burst'>>;
  private readonly ge: Required<GilbertElliott> | undefined;
  private bad = false;
  private readonly serializer: Serializer | undefined;
  /** Delayed copies waiting for their time, keyed by (time, insertion order). */
  private readonly pending = new TimeHeap<Uint8Array>();
  private readonly timer: Timer;
  private readonly scratch: Uint8Array;
  private closed = false;

  constructor(inner: Link, clock: Clock, rng: Rng, opts: ImpairOptions = {}) {
    this.inner = inner;
    this.clock = clock;
    this.rng = rng;
    this.o = {
      loss: opts.loss ?? 0,
      duplicate: opts.duplicate ?? 0,
      reorder: opts.reorder ?? 0,
      reorderDelayMs: opts.reorderDelayMs ?? 10,
      delayMs: opts.delayMs ?? 0,
      jitterMs: opts.jitterMs ?? 0,
      corrupt: opts.corrupt ?? 0,
      bandwidthBps: opts.bandwidthBps ?? 0,
      queueFrames: opts.queueFrames ?? 1000,
      maxHeld: opts.maxHeld ?? 16384,
    };
    this.ge = opts.burst === undefined ? undefined : { lossBad: 1, lossGood: 0, ...opts.burst };
    for (const [k, v] of Object.entries(this.o)) {
      if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`impair: ${k} must be a number >= 0, got ${v}`);
    }
    this.serializer = this.o.bandwidthBps > 0 ? new Serializer(this.o.bandwidthBps, this.o.queueFrames) : undefined;
    this.scratch = new Uint8Array(inner.mtu + 64);
    this.timer = clock.createTimer(() => this.release());
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.inner.setReceiver(receiver);
  }

  close(): void {
    this.closed = true;
    this.timer.cancel();
    this.pending.clear();
    this.inner.close();
  }

  /** Frames held (delayed) and not yet passed to the inner link. */
  get held(): number {
    return this.pending.size;
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const c = this.counters;
    c.offered++;
    if (this.lose()) {
      c.dropped++;
      return true;
    }
    const now = this.clock.now();
    let at = now;
    const o = this.o;
    if (this.serializer !== undefined) {
      at = this.serializer.admit(now, frame.length);
      if (at < 0) {
        c.queueDrops++;
        return false;
      }
    }
    const dup = o.duplicate > 0 && this.rng.nextFloat() < o.duplicate;
    const ok = this.emit(frame, at);
    if (dup) {
      c.duplicated++;
      this.emit(frame, at);
    }
    return ok;
  }

  /** One copy: maybe corrupt, delay, hold back; then send now (returning the inner link's verdict) or schedule. */
  private emit(frame: Uint8Array, at: number): boolean {
    const o = this.o;
    const rng = this.rng;
    let t = at + o.delayMs;
    if (o.jitterMs > 0) t += rng.nextFloat() * o.jitterMs;
    if (o.reorder > 0 && rng.nextFloat() < o.reorder) {
      this.counters.reordered++;
      t += o.reorderDelayMs;
    }
    const corrupt = o.corrupt > 0 && frame.length > 0 && rng.nextFloat() < o.corrupt;
    let out = frame;
    const delayed = t > this.clock.now();
    if (delayed && this.pending.size >= o.maxHeld) {
      this.counters.heldDrops++;
      return false;
    }
    if (delayed) {
      out = frame.slice();
    } else if (corrupt) {
      out = frame.length <= this.scratch.length ? this.scratch.subarray(0, frame.length) : new Uint8Array(frame.length);
      out.set(frame);
    }
    if (corrupt) {
      const i = Math.floor(rng.nextFloat() * out.length);
      out[i] = out[i]! ^ (1 << (rng.nextU32() & 7));
      this.counters.corrupted++;
    }
    if (delayed) {
      this.pending.push(t, out);
      const armed = this.timer.deadline;
      if (armed === undefined || t < armed) this.timer.arm(t);
      return true;
    }
    this.counters.sent++;
    return this.inner.send(out);
  }

  private lose(): boolean {
    const ge = this.ge;
    if (ge === undefined) return this.o.loss > 0 && this.rng.nextFloat() < this.o.loss;
    // Gilbert–Elliott: step the chain, then draw the loss in the new state.
    const u = this.rng.nextFloat();
    this.bad = this.bad ? !(u < ge.pBadToGood) : u < ge.pGoodToBad;
    const p = this.bad ? ge.lossBad : ge.lossGood;
    return p > 0 && this.rng.nextFloat() < p;
  }

  private release(): void {
    const now = this.clock.now();
    for (;;) {
      const t = this.pending.peekTime();
      if (t === undefined || t > now) break;
      const f = this.pending.pop()!;
      this.counters.sent++;
      this.inner.send(f);
    }
    const next = this.pending.peekTime();
    if (next !== undefined && !this.closed) this.timer.arm(next);
  }
}

/** Wrap `link` so its send path loses, duplicates, reorders, delays, corrupts and rate-limits. */
export function impair(link: Link, clock: Clock, rng: Rng, opts: ImpairOptions = {}): ImpairedLink {
  return new ImpairedLink(link, clock, rng, opts);
}
