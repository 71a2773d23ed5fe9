/**
 * Time for the whole stack. Nothing below the CLI calls Date.now() or setTimeout:
 * every layer gets a Clock and creates re-armable timers from it.
 *
 * Times are milliseconds as numbers (fractions allowed). A Timer is created once per
 * owner (one per connection, one per ARP cache...) and re-armed, so arming a timer on
 * the hot path allocates nothing.
 */
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
 * A min-heap of timer entries keyed by (deadline, insertion order). Cancelled and
 * re-armed entries are removed lazily: each entry carries the generation of its timer
 * at the time it was pushed, and a stale generation is skipped when popped.
 */
export class TimerHeap {
  private deadlines: number[] = [];
  private orders: number[] = [];
  private timers: HeapTimer[] = [];
  private gens: number[] = [];
  private nextOrder = 0;
  /** Number of armed timers; entries beyond it are stale and get compacted away. */
  live = 0;

  get size(): number {
    return this.deadlines.length;
  }

  push(t: HeapTimer, deadline: number, gen: number): void {
    if (this.deadlines.length > 64 && this.deadlines.length > 4 * this.live) this.compact();
    this.siftUp(t, deadline, gen, this.nextOrder++);
  }

  /** Rebuild the heap from live entries only, keeping their original order keys. */
  private compact(): void {
    const d = this.deadlines, o = this.orders, tm = this.timers, g = this.gens;
    this.deadlines = [];
    this.orders = [];
    this.timers = [];
    this.gens = [];
    for (let i = 0; i < d.length; i++) {
      const t = tm[i]!;
      if (t.gen === g[i] && t.deadline !== undefined) this.siftUp(t, d[i]!, g[i]!, o[i]!);
    }
  }

  private siftUp(t: HeapTimer, deadline: number, gen: number, order: number): void {
    let i = this.deadlines.length;
    this.deadlines.push(deadline);
    this.orders.push(order);
    this.timers.push(t);
    this.gens.push(gen);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Earliest live deadline, dropping stale entries on the way. */
  peekDeadline(): number | undefined {
    this.dropStale();
    return this.deadlines[0];
  }

  /** Pop the earliest live timer if its deadline is <= now. */
  popDue(now: number): HeapTimer | undefined {
    this.dropStale();
    const d = this.deadlines[0];
    if (d === undefined || d > now) return undefined;
    const t = this.timers[0]!;
    this.removeTop();
    return t;
  }

  private dropStale(): void {
    while (this.timers.length > 0) {
      const t = this.timers[0]!;
      if (t.gen === this.gens[0] && t.deadline !== undefined) return;
      this.removeTop();
    }
  }

  private removeTop(): void {
    const last = this.deadlines.length - 1;
    this.swap(0, last);
    this.deadlines.pop();
    this.orders.pop();
    this.timers.pop();
    this.gens.pop();
    let i = 0;
    const n = this.deadlines.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private less(a: number, b: number): boolean {
    const da = this.deadlines[a]!;
    const db = this.deadlines[b]!;
    return da < db || (da === db && this.orders[a]! < this.orders[b]!);
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    const d = this.deadlines[a]!;
    this.deadlines[a] = this.deadlines[b]!;
    this.deadlines[b] = d;
    const o = this.orders[a]!;
    this.orders[a] = this.orders[b]!;
    this.orders[b] = o;
    const t = this.timers[a]!;
    this.timers[a] = this.timers[b]!;
    this.timers[b] = t;
    const g = this.gens[a]!;
    this.gens[a] = this.gens[b]!;
    this.gens[b] = g;
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
