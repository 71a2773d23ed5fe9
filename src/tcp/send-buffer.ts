/**
 * The send buffer: a byte ring holding every octet from SND.UNA to the end of the data
 * the application queued (RFC 9293 3.3.1: "send sequence space" parts 2 and 3).
 *
 * Offsets are relative to the ring head, which is the octet at SND.UNA (or the first data
 * octet while the SYN is unacknowledged). Acknowledged octets are released with
 * `consume()`; retransmissions read any range again with `copyOut()`. The storage is
 * allocated once at the configured size and never grows on the data path.
 */
export class SendBuffer {
  private buf: Uint8Array;
  private head = 0;
  private len = 0;

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`send buffer capacity must be positive, got ${capacity}`);
    this.buf = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** Queued octets (unacknowledged + not yet sent). */
  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.buf.length - this.len;
  }

  /** Append as much of src as fits; returns the count taken. */
  write(src: Uint8Array): number {
    const n = Math.min(src.length, this.buf.length - this.len);
    if (n === 0) return 0;
    const cap = this.buf.length;
    const tail = (this.head + this.len) % cap;
    const first = Math.min(n, cap - tail);
    this.buf.set(first === src.length ? src : src.subarray(0, first), tail);
    if (first < n) this.buf.set(src.subarray(first, n), 0);
    this.len += n;
    return n;
  }

  /** Release n octets from the head (they were acknowledged). */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.len) n = this.len;
    this.head = (this.head + n) % this.buf.length;
    this.len -= n;
    if (this.len === 0) this.head = 0;
  }

  /** Copy n octets starting `offset` octets after the head into dst[dstOff...]. */
  copyOut(offset: number, n: number, dst: Uint8Array, dstOff: number): void {
    if (offset < 0 || n < 0 || offset + n > this.len) {
      throw new RangeError(`copyOut(${offset}, ${n}) outside the ${this.len} queued octets`);
    }
    const cap = this.buf.length;
    const start = (this.head + offset) % cap;
    const first = Math.min(n, cap - start);
    dst.set(this.buf.subarray(start, start + first), dstOff);
    if (first < n) dst.set(this.buf.subarray(0, n - first), dstOff + first);
  }

  /** Change the capacity (SO_SNDBUF) keeping the queued octets; false if they do not fit. */
  resize(capacity: number): boolean {
    if (capacity < this.len || !(capacity > 0)) return false;
    if (capacity === this.buf.length) return true;
    const next = new Uint8Array(capacity);
    this.copyOut(0, this.len, next, 0);
    this.buf = next;
    this.head = 0;
    return true;
  }
}
