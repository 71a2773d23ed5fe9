/**
 * Flow control: the send window and zero-window probing with the persist timer
 * (RFC 9293 3.8.6.1, MUST-35..37), window updates when the application reads, receiver
 * SWS avoidance (RFC 1122 4.2.3.3, MUST-39), never shrinking the window (SHLD-14), and
 * window scaling (RFC 7323 2).
 */
import { describe, expect, it } from 'vitest';
import { TcpHarness } from '../helpers/tcp-peer.js';

const fill = (n: number): Uint8Array => new Uint8Array(n).fill(0x42);

describe('zero window and the persist timer', () => {
  function zeroWindow(h: TcpHarness): ReturnType<TcpHarness['established']>['conn'] {
    const { conn } = h.established({ mss: 1000 });
    conn.write(fill(1000));
    h.expectSent({ seq: h.ourNxt });
    h.ourNxt += 1000;
    h.send(h.seg({ window: 0 }));
    conn.write(fill(500));
    h.expectNothing();
    return conn;
  }

  it('probes after one RTO, then backs off exponentially (SHLD-29, SHLD-30): <SEQ=SND.UNA-1>, no data', () => {
    const h = new TcpHarness();
    h.at(0);
    zeroWindow(h);
    const times: number[] = [];
    for (let t = 0; t < 40_000; t += 100) {
      h.advance(100);
      for (const s of h.drain()) {
        expect(s.seq).toBe((h.ourNxt - 1) >>> 0);
        expect(s.payload.length).toBe(0);
        times.push(h.clock.now());
      }
    }
    expect(times).toEqual([1000, 3000, 7000, 15000, 31000]);
    expect(h.layer.stats().TCPWinProbe).toBe(5);
  });

  it('never gives up while the peer answers the probes (MUST-37); resumes when the window opens', () => {
    const h = new TcpHarness({ config: { retries2: 3 } });
    const conn = zeroWindow(h);
    let probes = 0;
    for (let t = 0; t < 40 * 60_000; t += 100) {
      h.advance(100);
      for (const s of h.drain()) {
        expect(s.seq).toBe((h.ourNxt - 1) >>> 0);
        probes++;
        h.send(h.seg({ window: 0 })); // the peer's answer: still zero
      }
    }
    // Backed off to maxRto (60 s): about one probe a minute.
    expect(probes).toBeGreaterThan(35);
    expect(conn.state).toBe('ESTABLISHED');
    h.send(h.seg({ window: 4000 }));
    h.expectSent({ seq: h.ourNxt, payload: fill(500) });
  });

  it('unanswered probes count toward R2: ETIMEDOUT after retries2 of them', () => {
    const h = new TcpHarness({ config: { retries2: 3 } });
    const conn = zeroWindow(h);
    h.advance(1000 + 2000 + 4000);
    expect(h.drain()).toHaveLength(3);
    h.advance(8000);
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toContain('error:ETIMEDOUT');
  });

  it('a window update from the peer ends persist mode without waiting for the timer', () => {
    const h = new TcpHarness();
    zeroWindow(h);
    h.advance(500);
    h.send(h.seg({ window: 1000 }));
    h.expectSent({ seq: h.ourNxt, payload: fill(500) });
  });
});

describe('our receive window', () => {
  it('fills to zero, and a read that frees the buffer sends a window update at once', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 4000 });
    const p = h.peerNxt;
    h.sendBatch([0, 1, 2, 3].map((i) => h.seg({ seq: p + i * 1000, payload: fill(1000) })));
    h.expectSent({ ack: p + 4000, window: 0 });
    conn.read(new Uint8Array(4000));
    h.expectSent({ ack: p + 4000, window: 4000 });
  });

  it('receiver SWS avoidance: the window reopens only in steps of min(RCV.BUFF/2, MSS) (MUST-39)', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 8000 });
    const p = h.peerNxt;
    h.sendBatch([...Array(8).keys()].map((i) => h.seg({ seq: p + i * 1000, payload: fill(1000) })));
    h.expectSent({ ack: p + 8000, window: 0 });
    conn.read(new Uint8Array(500));
    h.expectNothing();
    // The peer probes: our ACK still offers 0 (500 < min(4000, 1000)).
    h.send(h.seg({ seq: p + 7999 }));
    h.expectSent({ ack: p + 8000, window: 0 });
    conn.read(new Uint8Array(500));
    h.expectSent({ ack: p + 8000, window: 1000 });
  });

  it('the right edge never moves left (SHLD-14): a small read does not shrink what was offered', () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1000 }, { recvBufferSize: 8000 });
    const p = h.peerNxt;
    h.send(h.seg({ payload: fill(1000) }));
    h.advance(40);
    const a = h.expectSent({ ack: p + 1000 });
    // The SYN-ACK offered 8000 from p; now 7000 remain from p + 1000: same right edge.
    expect(a.window).toBe(7000);
    conn.read(new Uint8Array(1000));
    // Freed 1000 = one MSS step: the edge may move forward (by the SWS rule), but an update is
    // only sent for a big change (Linux: the window at least doubles).
    h.expectNothing();
  });

  it('window scaling (RFC 7323 2.3): window fields of non-SYN segments are scaled by our shift', () => {
    const h = new TcpHarness();
    h.established({ mss: 1460, wscale: 2 });
    h.send(h.seg({ payload: fill(10) }));
    h.advance(40);
    const a = h.expectSent({ ack: h.peerNxt + 10 });
    // 256 KB buffer, shift 3: (262144 - 10) >> 3, rounded down.
    expect(a.window).toBe(Math.floor((262144 - 10) / 8));
  });

  it("the peer's window is scaled by its shift; SYN windows are not (RFC 7323 2.2)", () => {
    const h = new TcpHarness();
    const { conn } = h.established({ mss: 1460, wscale: 4, window: 1000 });
    // The handshake ACK's window (1000) was scaled: 16000.
    expect(conn.info().sndWnd).toBe(16000);
  });
});

describe('a window that shrinks (RFC 9293 3.8.6)', () => {
  it('MUST-34: no new data past a shrunken right edge; MUST-35: a window shrunk to zero is probed; SHLD-17: no timeout while the peer answers', () => {
    const h = new TcpHarness({ config: { retries2: 3 } });
    const { conn } = h.established({ mss: 1000, window: 5000 });
    conn.write(fill(5000));
    expect(h.drain()).toHaveLength(5);
    // The peer takes 1000 and shrinks its window to zero: 4000 octets now lie past the edge.
    h.send(h.seg({ ack: h.ourNxt + 1000, window: 0 }));
    conn.write(fill(500));
    h.expectNothing();
    // The retransmission timer probes with the first unacknowledged segment, backing off; the
    // peer keeps answering with a zero window and the connection stays up far beyond retries2.
    let probes = 0;
    for (let t = 0; t < 300_000; t += 100) {
      h.advance(100);
      for (const s of h.drain()) {
        expect(s.seq).toBe((h.ourNxt + 1000) >>> 0);
        probes++;
        h.send(h.seg({ ack: h.ourNxt + 1000, window: 0 }));
      }
    }
    expect(probes).toBeGreaterThan(3);
    expect(conn.state).toBe('ESTABLISHED');
    // The window reopens: the data flows again (in slow start after the timeouts).
    let acked = 1000;
    h.send(h.seg({ ack: h.ourNxt + acked, window: 8000 }));
    for (let round = 0; round < 10 && acked < 5500; round++) {
      for (const s of h.drain()) acked = Math.max(acked, s.seq - h.ourNxt + s.payload.length);
      h.send(h.seg({ ack: h.ourNxt + acked, window: 8000 }));
    }
    expect(acked).toBe(5500);
  });
});
