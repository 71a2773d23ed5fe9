/**
 * How many ACKs a receive batch produces (input.ts receiveData, layer.ts batchEnd): in-order
 * data is acknowledged once per batch, but at least for every second full-sized segment
 * (RFC 5681 4.2); out-of-order data is acknowledged at once when it opens a new SACK block,
 * and otherwise (with SACK) once at the end of the batch with the newest blocks (Linux-like
 * SACK compression); every D-SACK is reported (RFC 2883); without SACK every out-of-order
 * segment draws its own duplicate ACK (RFC 5681 4.2, for senders that count them).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const MSS = 1460;
const fill = (n: number, v = 0x61): Uint8Array => new Uint8Array(n).fill(v);

/** Full-sized segments i..j-1 (relative to `base`) as one batch's specs. */
function segs(h: TcpHarness, base: number, from: number, to: number): ReturnType<TcpHarness['seg']>[] {
  const out: ReturnType<TcpHarness['seg']>[] = [];
  for (let i = from; i < to; i++) out.push(h.seg({ seq: base + i * MSS, payload: fill(MSS) }));
  return out;
}

describe('ACKs per receive batch', () => {
  it('a batch of N full-sized in-order segments draws one ACK at its end, covering all of them', () => {
    for (const n of [2, 3, 10, 40]) {
      const h = new TcpHarness();
      h.established({ mss: MSS, sackPermitted: true });
      const p = h.peerNxt;
      h.sendBatch(segs(h, p, 0, n));
      const acks = h.drain();
      expect(acks.length, `${n} segments`).toBe(1);
      expect(acks[0]!.ack).toBe(p + n * MSS);
      // Nothing is left for the delayed-ACK timer: every second full-sized segment is covered.
      h.advance(1000);
      h.expectNothing();
    }
  });

  it('one full-sized segment per batch: every second one is ACKed at once, the odd one waits for the delayed-ACK timer', () => {
    const h = new TcpHarness();
    h.established({ mss: MSS, sackPermitted: true });
    const p = h.peerNxt;
    for (let i = 0; i < 6; i++) {
      h.sendBatch(segs(h, p, i, i + 1));
      const acks = h.drain();
      if (i % 2 === 1) {
        expect(acks.map((a) => a.ack)).toEqual([p + (i + 1) * MSS]);
      } else expect(acks).toEqual([]);
    }
    h.sendBatch(segs(h, p, 6, 7));
    h.expectNothing();
    h.advance(40);
    h.expectSent({ flags: 'ACK', ack: p + 7 * MSS });
  });

  it('with SACK: the segment opening a block is ACKed at once, the ones extending it share one ACK at the end of the batch', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: MSS, sackPermitted: true });
    const p = h.peerNxt;
    // Segment 0 is lost; 1..20 arrive in one batch.
    h.sendBatch(segs(h, p, 1, 21));
    const acks = h.drain();
    expect(acks.map((a) => ({ ack: a.ack, sack: a.sack }))).toEqual([
      { ack: p, sack: [[p + MSS, p + 2 * MSS]] }, // at once: the new block
      { ack: p, sack: [[p + MSS, p + 21 * MSS]] }, // end of batch: the newest state
    ]);
    expect(h.layer.stats().TCPOFOQueue).toBe(20);
    // The next batch extends the same block: one ACK again.
    h.sendBatch(segs(h, p, 21, 31));
    expect(h.drain().map((a) => [a.ack, a.sack])).toEqual([[p, [[p + MSS, p + 31 * MSS]]]]);
    // The retransmission fills the hole: ACKed at once (RFC 5681 4.2), everything readable.
    h.sendBatch(segs(h, p, 0, 1));
    const fill0 = h.drain();
    expect(fill0.map((a) => a.ack)).toEqual([p + 31 * MSS]);
    expect(fill0[0]!.sack).toBeUndefined();
    expect(conn.readableLength).toBe(31 * MSS);
  });

  it('with SACK: every new block of a batch gets an ACK of its own, reporting it first (RFC 2018 4)', () => {
    const h = new TcpHarness();
    h.established({ mss: MSS, sackPermitted: true });
    const p = h.peerNxt;
    // Lost: 0, 5 and 10. Arrive in one batch: 1-4, 6-9, 11-14.
    h.sendBatch([...segs(h, p, 1, 5), ...segs(h, p, 6, 10), ...segs(h, p, 11, 15)]);
    const acks = h.drain();
    const b = (i: number, j: number): [number, number] => [p + i * MSS, p + j * MSS];
    expect(acks.map((a) => a.sack)).toEqual([
      [b(1, 2)],
      [b(6, 7), b(1, 5)],
      [b(11, 12), b(6, 10), b(1, 5)],
      [b(11, 15), b(6, 10), b(1, 5)],
    ]);
    expect(acks.every((a) => a.ack === p)).toBe(true);
  });

  it('without SACK: every out-of-order segment is ACKed at once (a sender counts duplicate ACKs, RFC 5681 3.2)', () => {
    const h = new TcpHarness();
    h.established({ mss: MSS });
    const p = h.peerNxt;
    h.sendBatch(segs(h, p, 1, 6));
    const acks = h.drain();
    expect(acks.length).toBe(5);
    expect(acks.every((a) => a.ack === p && a.sack === undefined)).toBe(true);
  });

  it('every D-SACK is reported: two different duplicates in one batch draw two ACKs (RFC 2883)', () => {
    const h = new TcpHarness();
    h.established({ mss: MSS, sackPermitted: true });
    const p = h.peerNxt;
    h.sendBatch(segs(h, p, 0, 4));
    expect(h.drain().map((a) => a.ack)).toEqual([p + 4 * MSS]);
    // Two spurious retransmissions (segments 1 and 2) arrive in one batch.
    h.sendBatch(segs(h, p, 1, 3));
    const acks = h.drain();
    expect(acks.map((a) => [a.ack, a.sack])).toEqual([
      [p + 4 * MSS, [[p + MSS, p + 2 * MSS]]],
      [p + 4 * MSS, [[p + 2 * MSS, p + 3 * MSS]]],
    ]);
  });

  it('a duplicate of data held above a hole is D-SACKed at once, with the block that holds it', () => {
    const h = new TcpHarness();
    h.established({ mss: MSS, sackPermitted: true });
    const p = h.peerNxt;
    h.sendBatch(segs(h, p, 1, 4));
    h.drain();
    h.sendBatch(segs(h, p, 2, 3));
    expect(h.drain().map((a) => a.sack)).toEqual([[[p + 2 * MSS, p + 3 * MSS], [p + MSS, p + 4 * MSS]]]);
  });
});
