/**
 * The link layer contract: something that carries whole Ethernet frames.
 * Implementations: the TAP device (tap.ts), an in-memory pair (memory.ts), and the
 * impairment decorator (impair.ts) that wraps any Link.
 */
export interface Link {
  /** Largest Ethernet payload (IP datagram) this link carries, e.g. 1500. */
  readonly mtu: number;
  /**
   * Send one Ethernet frame (header included, no FCS). The frame is copied (or written
   * out) before send() returns, so the caller may reuse its buffer at once.
   * Returns false when the frame was dropped (queue full, link closed).
   */
  send(frame: Uint8Array): boolean;
  /**
   * Install the receiver. `frame` is only valid during the call (it may be a view into a
   * ring slot that is reused afterwards): copy what you keep.
   */
  setReceiver(receiver: LinkReceiver): void;
  close(): void;
}

export interface LinkReceiver {
  /** One received frame; see Link.setReceiver for its lifetime. */
  receive(frame: Uint8Array): void;
  /**
   * Called after a batch of receive() calls (one TAP read burst, one simulation step),
   * so upper layers can coalesce work (ACKs, TX flush) per batch. Optional.
   */
  batchEnd?(): void;
}
