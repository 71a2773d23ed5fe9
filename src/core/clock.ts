/**
 * Time for the whole stack. Nothing below the CLI calls Date.now() or setTimeout:
 * every layer gets a Clock and creates re-armable timers from it.
 *
 * Times are milliseconds as numbers (fractions allowed). A Timer is created once per
 * owner (one per connection, one per ARP cache...) and re-armed, so arming a timer on
 * the hot path allocates nothing.
 */
import { TimeHeap } from './heap.js';

export interface Clock {
  /** Current time in milliseconds. Monotonic. */
  now(): number;
  /** A timer that calls `fire` when its deadline passes. Not armed until `arm()`. */
  createTimer(fire: () => void): Timer;
}

export interface Timer {
  /** Arm (or re-arm) for an absolute deadline in ms. Replaces any earlier deadline. */
  arm(deadline: number): void;
  /** Disarm. Safe when not armed. */
  cancel(): void;
  /** The armed deadline, or undefined when not armed. */
  readonly deadline: number | undefined;
}

/**
 * The armed timers of one clock, on a TimeHeap keyed by (deadline, insertion order).
 * Cancelled and re-armed entries are removed lazily: each entry carries the generation
 * of its timer at the time it was pushed (the heap tag), and a stale generation is
 * skipped when it reaches the top. When stale entries outnumber live ones 4 to 1, they
 * are compacted away in one pass.
 */
export class TimerHeap {
  private readonly heap = new TimeHeap<HeapTimer>();
  /** Number of armed timers; entries beyond it are stale. */
  live = 0;
  private readonly isLive = (t: HeapTimer, gen: number): boolean => t.gen === gen && t.deadline !== undefined;

  get size(): number {
    return this.heap.size;
  }

  push(t: HeapTimer, deadline: number, gen: number): void {
    if (this.heap.size > 64 && this.heap.size > 4 * this.live) this.heap.retain(this.isLive);
    this.heap.push(deadline, t, gen);
  }

  /** Earliest live deadline, dropping stale entries on the way. */
  peekDeadline(): number | undefined {
    this.dropStale();
    return this.heap.peekTime();
  }

  /** Pop the earliest live timer if its deadline is <= now. */
  popDue(now: number): HeapTimer | undefined {
    this.dropStale();
    const d = this.heap.peekTime();
    if (d === undefined || d > now) return undefined;
    return this.heap.pop();
  }

  private dropStale(): void {
    for (;;) {
      const t = this.heap.peekValue();
      if (t === undefined || this.isLive(t, this.heap.peekTag())) return;
      this.heap.pop();
    }
  }
}

/** A timer living in a TimerHeap; `onArm` tells the owning clock a new deadline exists. */
export class HeapTimer implements Timer {
  deadline: number | undefined = undefined;
  gen = 0;
  private readonly heap: TimerHeap;
  private readonly onArm: (deadline: number) => void;
  readonly fire: () => void;

  constructor(heap: TimerHeap, fire: () => void, onArm: (deadline: number) => void) {
    this.heap = heap;
    this.fire = fire;
    this.onArm = onArm;
  }

  arm(deadline: number): void {
    if (this.deadline === deadline) return;
    if (this.deadline === undefined) this.heap.live++;
    this.gen++;
    this.deadline = deadline;
    this.heap.push(this, deadline, this.gen);
    this.onArm(deadline);
  }

  cancel(): void {
    if (this.deadline === undefined) return;
    this.heap.live--;
    this.gen++;
    this.deadline = undefined;
  }

  /** Called by the clock when this timer is popped due: disarm, then run the callback. */
  expire(): void {
    this.heap.live--;
    this.deadline = undefined;
    this.fire();
  }
}

/**
 * Virtual time. Time moves only when the test (or SimNetwork) advances it; due timers
 * fire in (deadline, insertion order), each seeing now() equal to its own deadline.
 */
export class ManualClock implements Clock {
  private t: number;
  private readonly heap = new TimerHeap();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  createTimer(fire: () => void): Timer {
    return new HeapTimer(this.heap, fire, noop);
  }

  /** Earliest armed deadline, or undefined when no timer is armed. */
  nextDeadline(): number | undefined {
    return this.heap.peekDeadline();
  }

  /** Fire the single earliest timer (jumping time to its deadline). False when none is armed. */
  step(): boolean {
    const d = this.heap.peekDeadline();
    if (d === undefined) return false;
    if (d > this.t) this.t = d;
    const timer = this.heap.popDue(this.t);
    if (timer === undefined) return false;
    timer.expire();
    return true;
  }

  /** Advance to `now + ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  /** Advance to an absolute time, firing every timer due on the way, in order. */
  advanceTo(target: number): void {
    for (;;) {
      const d = this.heap.peekDeadline();
      if (d === undefined || d > target) break;
      this.step();
    }
    if (target > this.t) this.t = target;
  }
}

function noop(): void {}

/**
 * Wall-clock time for real runs: the same heap, with ONE Node timer armed for the
 * earliest deadline (re-armed only when an earlier deadline appears).
 */
export class RealClock implements Clock {
  private readonly heap = new TimerHeap();
  private armedAt: number | undefined = undefined;
  private handle: NodeJS.Timeout | undefined = undefined;
  private readonly origin = performance.now();
  private readonly onArmBound = (deadline: number): void => this.schedule(deadline);
  private readonly runBound = (): void => this.run();
  private closed = false;

  now(): number {
    return performance.now() - this.origin;
  }

  createTimer(fire: () => void): Timer {
    return new HeapTimer(this.heap, fire, this.onArmBound);
  }

  /** Stop the underlying Node timer; no timer fires after this. */
  close(): void {
    this.closed = true;
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private schedule(deadline: number): void {
    if (this.closed) return;
    if (this.armedAt !== undefined && this.armedAt <= deadline) return;
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.armedAt = deadline;
    this.handle = setTimeout(this.runBound, Math.max(0, Math.ceil(deadline - this.now())));
  }

  private run(): void {
    this.handle = undefined;
    this.armedAt = undefined;
    const now = this.now();
    for (let t = this.heap.popDue(now); t !== undefined; t = this.heap.popDue(now)) {
      t.expire();
    }
    const next = this.heap.peekDeadline();
    if (next !== undefined) this.schedule(next);
  }
}
