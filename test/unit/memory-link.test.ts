import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import { memoryLinkPair } from '../../src/link/memory.js';

/** Records (time, first byte, length) of each delivery, and batch boundaries as 'end'. */
function recorder(clock: ManualClock, onFrame?: (f: Uint8Array) => void) {
  const log: (string | [number, number, number])[] = [];
  const r: LinkReceiver = {
    receive(f) {
      log.push([clock.now(), f[0]!, f.length]);
      onFrame?.(f);
    },
    batchEnd() {
      log.push('end');
    },
  };
  return { log, r };
}

function frame(tag: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f[0] = tag;
  return f;
}

describe('memoryLinkPair', () => {
  it('never delivers inside send(), even with zero delay; delivers at the next clock step', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock);
    const { log, r } = recorder(clock);
    b.setReceiver(r);
    expect(a.send(frame(1))).toBe(true);
    expect(log).toEqual([]);
    expect(clock.step()).toBe(true);
    expect(log).toEqual([[0, 1, 60], 'end']);
    expect(clock.step()).toBe(false);
  });

  it('delivers after delayMs in send order, frames of one time in one batch', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock, { delayMs: 5 });
    const { log, r } = recorder(clock);
    b.setReceiver(r);
    a.send(frame(1));
    a.send(frame(2));
    clock.advance(2);
    a.send(frame(3));
    clock.advance(2.9);
    expect(log).toEqual([]);
    clock.advance(100);
    expect(log).toEqual([[5, 1, 60], [5, 2, 60], 'end', [7, 3, 60], 'end']);
  });

  it('carries both directions independently', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock, { delayMs: 1 });
    const ra = recorder(clock);
    const rb = recorder(clock);
    a.setReceiver(ra.r);
    b.setReceiver(rb.r);
    a.send(frame(1));
    b.send(frame(2));
    clock.advance(1);
    expect(rb.log).toEqual([[1, 1, 60], 'end']);
    expect(ra.log).toEqual([[1, 2, 60], 'end']);
  });

  it('copies the frame at send(): the sender may reuse its buffer at once', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock);
    const got: number[][] = [];
    b.setReceiver({ receive: (f) => got.push([...f]) });
    const buf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    a.send(buf);
    buf.fill(0);
    a.send(buf);
    clock.advance(0);
    expect(got).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], new Array(14).fill(0)]);
  });

  it('a receiver that answers from receive() is not re-entered: the answer waits for a later step', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock);
    let depth = 0;
    let maxDepth = 0;
    let bounces = 0;
    const echo = (self: Link): LinkReceiver => ({
      receive(f) {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        if (bounces++ < 10) self.send(f);
        depth--;
      },
    });
    a.setReceiver(echo(a));
    b.setReceiver(echo(b));
    a.send(frame(9));
    let steps = 0;
    while (clock.step()) steps++;
    expect(bounces).toBe(11);
    expect(steps).toBe(11);
    expect(maxDepth).toBe(1);
  });

  it('serialises at bandwidthBps and tail-drops beyond queueFrames', () => {
    const clock = new ManualClock(0);
    // 1500-byte frames at 12 Mbit/s: 1 ms each.
    const [a, b] = memoryLinkPair(clock, { delayMs: 10, bandwidthBps: 12_000_000, queueFrames: 3 });
    const { log, r } = recorder(clock);
    b.setReceiver(r);
    const ok = [1, 2, 3, 4, 5].map((i) => a.send(frame(i, 1500)));
    expect(ok).toEqual([true, true, true, false, false]);
    expect(a.counters.txDropQueue).toBe(2);
    clock.advanceTo(1.5); // frame 1 has left the queue: room for one more
    expect(a.send(frame(6, 1500))).toBe(true);
    expect(a.send(frame(7, 1500))).toBe(false);
    clock.advance(100);
    expect(log.filter((x) => x !== 'end')).toEqual([
      [11, 1, 1500],
      [12, 2, 1500],
      [13, 3, 1500],
      [14, 6, 1500],
    ]);
    expect(b.counters.rxFrames).toBe(4);
    expect(b.counters.rxBytes).toBe(6000);
  });

  it('an idle rate-limited link starts each frame at once', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock, { bandwidthBps: 8_000_000 }); // 1000 bytes = 1 ms
    const { log, r } = recorder(clock);
    b.setReceiver(r);
    a.send(frame(1, 1000));
    clock.advanceTo(50);
    a.send(frame(2, 1000));
    clock.advance(10);
    expect(log.filter((x) => x !== 'end')).toEqual([
      [1, 1, 1000],
      [51, 2, 1000],
    ]);
  });

  it('drops frames longer than 14 + mtu, and everything after close()', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock, { mtu: 100 });
    const { log, r } = recorder(clock);
    b.setReceiver(r);
    expect(a.send(frame(1, 114))).toBe(true);
    expect(a.send(frame(2, 115))).toBe(false);
    expect(a.counters.txDropTooBig).toBe(1);
    a.send(frame(3, 60));
    b.close();
    clock.advance(1);
    expect(log).toEqual([]);
    a.close();
    expect(a.send(frame(4))).toBe(false);
    expect(a.counters.txDropClosed).toBe(1);
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('counts frames arriving with no receiver', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock);
    a.send(frame(1));
    clock.advance(0);
    expect(b.counters.rxDropNoReceiver).toBe(1);
  });

  it('moves many frames in order and reuses buffers', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock, { delayMs: 0.01 });
    let expectNext = 0;
    let bad = 0;
    b.setReceiver({
      receive(f) {
        const n = (f[0]! << 8) | f[1]!;
        if (n !== expectNext) bad++;
        expectNext = n + 1;
      },
    });
    const f = new Uint8Array(1514);
    for (let i = 0; i < 5000; i++) {
      f[0] = i >> 8;
      f[1] = i & 255;
      a.send(f);
      if (i % 7 === 0) clock.advance(0.01);
    }
    clock.advance(1);
    expect(bad).toBe(0);
    expect(expectNext).toBe(5000);
    expect(a.inFlight).toBe(0);
  });

  it('bounds the frames in flight per direction (maxInFlight), counting refusals in txDropQueue', () => {
    const clock = new ManualClock(0);
    const [a, b] = memoryLinkPair(clock, { delayMs: 10, maxInFlight: 5 });
    const { log, r } = recorder(clock);
    b.setReceiver(r);
    for (let i = 0; i < 8; i++) expect(a.send(frame(i))).toBe(i < 5);
    expect(a.inFlight).toBe(5);
    expect(a.counters.txDropQueue).toBe(3);
    clock.advance(10);
    expect(log.filter((e) => e !== 'end').map((e) => (e as number[])[1])).toEqual([0, 1, 2, 3, 4]);
    // Delivered frames free their places.
    expect(a.send(frame(9))).toBe(true);
  });
});
