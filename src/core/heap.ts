/**
 * A binary min-heap of values keyed by (time, insertion order): entries with equal times
 * pop in the order they were pushed, which is what makes simulations replay exactly.
 * Parallel arrays instead of one object per entry, so a push allocates nothing once the
 * arrays have grown. Each entry carries a value and a numeric tag (the clock keeps a
 * timer's generation there, to skip entries of re-armed or cancelled timers).
 *
 * Used by the clock's timer heap (core/clock.ts) and the impairment decorator's queue of
 * delayed frames (link/impair.ts).
 */
export class TimeHeap<T> {
  private readonly times: number[] = [];
  private readonly orders: number[] = [];
  private readonly values: T[] = [];
  private readonly tags: number[] = [];
  private nextOrder = 0;

  get size(): number {
    return this.times.length;
  }

  /** Earliest time, or undefined when empty. */
  peekTime(): number | undefined {
    return this.times[0];
  }

  /** Value of the earliest entry, or undefined when empty. */
  peekValue(): T | undefined {
    return this.values[0];
  }

  /** Tag of the earliest entry (0 when empty). */
  peekTag(): number {
    return this.tags[0] ?? 0;
  }

  push(time: number, value: T, tag = 0): void {
    let i = this.times.length;
    this.times.push(time);
    this.orders.push(this.nextOrder++);
    this.values.push(value);
    this.tags.push(tag);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Remove the earliest entry and return its value (undefined when empty). */
  pop(): T | undefined {
    const n = this.times.length;
    if (n === 0) return undefined;
    const top = this.values[0];
    this.swap(0, n - 1);
    this.times.pop();
    this.orders.pop();
    this.values.pop();
    this.tags.pop();
    this.siftDown(0);
    return top;
  }

  clear(): void {
    this.times.length = 0;
    this.orders.length = 0;
    this.values.length = 0;
    this.tags.length = 0;
  }

  /**
   * Keep only the entries for which keep(value, tag) holds, in O(n). Survivors keep their
   * (time, insertion order) keys, so they pop in the same order as before.
   */
  retain(keep: (value: T, tag: number) => boolean): void {
    const n = this.times.length;
    let w = 0;
    for (let r = 0; r < n; r++) {
      if (!keep(this.values[r]!, this.tags[r]!)) continue;
      this.times[w] = this.times[r]!;
      this.orders[w] = this.orders[r]!;
      this.values[w] = this.values[r]!;
      this.tags[w] = this.tags[r]!;
      w++;
    }
    this.times.length = w;
    this.orders.length = w;
    this.values.length = w;
    this.tags.length = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(i: number): void {
    const n = this.times.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta < tb || (ta === tb && this.orders[a]! < this.orders[b]!);
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    const t = this.times[a]!;
    this.times[a] = this.times[b]!;
    this.times[b] = t;
    const o = this.orders[a]!;
    this.orders[a] = this.orders[b]!;
    this.orders[b] = o;
    const v = this.values[a]!;
    this.values[a] = this.values[b]!;
    this.values[b] = v;
    const g = this.tags[a]!;
    this.tags[a] = this.tags[b]!;
    this.tags[b] = g;
  }
}
