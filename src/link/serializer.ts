/**
 * A transmitter of finite rate behind a bounded FIFO: frames are serialised one after
 * another (frame time = bits / rate; Ethernet preamble, FCS and gap not counted), and
 * when `queueFrames` frames are already waiting or on the wire the new one is refused
 * (tail drop). Shared by the in-memory cable's bandwidth and the impairment rate limit.
 */
export class Serializer {
  private readonly bandwidthBps: number;
  private readonly queueFrames: number;
  /** When the transmitter is next free. */
  private busyUntil = 0;
  /** Finish times of the frames still queued or on the transmitter, oldest at `head`. */
  private readonly finishes: number[] = [];
  private head = 0;

  constructor(bandwidthBps: number, queueFrames: number) {
    if (!(bandwidthBps > 0)) throw new RangeError(`bandwidth must be > 0 bits/s, got ${bandwidthBps}`);
    this.bandwidthBps = bandwidthBps;
    this.queueFrames = queueFrames;
  }

  /** Frames queued or being serialised at `now`. */
  queued(now: number): number {
    this.retire(now);
    return this.finishes.length - this.head;
  }

  /**
   * Take a frame of `bytes` offered at `now`: the time its last bit leaves, or -1 when
   * the queue is full (the frame is dropped and takes no transmitter time).
   */
  admit(now: number, bytes: number): number {
    if (this.queued(now) >= this.queueFrames) return -1;
    const leave = Math.max(now, this.busyUntil) + (bytes * 8 * 1000) / this.bandwidthBps;
    this.busyUntil = leave;
    this.finishes.push(leave);
    return leave;
  }

  /** Forget frames whose serialisation finished by `now`; compact the array now and then. */
  private retire(now: number): void {
    const f = this.finishes;
    while (this.head < f.length && f[this.head]! <= now) this.head++;
    if (this.head === f.length) {
      f.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > f.length) {
      f.splice(0, this.head);
      this.head = 0;
    }
  }
}
