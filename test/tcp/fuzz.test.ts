/**
 * Robustness: random and mutated segments thrown at connections in every state and at a
 * listener never make the stack throw, and the TCB invariants hold afterwards.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { buildSegment, LOCAL, REMOTE, TcpHarness } from '../helpers/tcp-peer.js';

const FLAGS = ['SYN', 'ACK', 'FIN,ACK', 'RST', 'RST,ACK', 'SYN,ACK', 'PSH,ACK', 'FIN', 'SYN,FIN', 'URG,ACK', ''];
const FIXTURES = ['established', 'finWait1', 'finWait2', 'closeWait', 'lastAck', 'closing', 'timeWait'] as const;

function invariants(h: TcpHarness): void {
  for (const c of h.layer.connections()) {
    const x = c as unknown as { sndUna: number; sndNxt: number; sndMax: number; state: string };
    expect(((x.sndMax - x.sndUna) | 0) >= 0, `SND.MAX >= SND.UNA in ${x.state}`).toBe(true);
    expect(((x.sndMax - x.sndNxt) | 0) >= 0, `SND.MAX >= SND.NXT in ${x.state}`).toBe(true);
    expect(((x.sndNxt - x.sndUna) | 0) >= 0, `SND.NXT >= SND.UNA in ${x.state}`).toBe(true);
  }
}

describe('fuzz', () => {
  for (const fixture of FIXTURES) {
    it(`random segments against ${fixture}`, () => {
      const rng = new SeededRng(FIXTURES.indexOf(fixture) + 100);
      for (let round = 0; round < 20; round++) {
        const h = new TcpHarness({ seed: round });
        const conn = fixture === 'established' ? h.established({ mss: 1460, sackPermitted: true, ts: [5, 0], wscale: 2 }).conn : h[fixture]();
        conn.write?.(new Uint8Array(3000));
        for (let i = 0; i < 200; i++) {
          const near = rng.nextFloat() < 0.7;
          const spec = h.seg({
            seq: near ? h.peerNxt + Math.floor((rng.nextFloat() - 0.3) * 70000) : rng.nextU32(),
            ack: near ? h.ourNxt + Math.floor((rng.nextFloat() - 0.5) * 8000) : rng.nextU32(),
            flags: FLAGS[Math.floor(rng.nextFloat() * FLAGS.length)]!,
            window: Math.floor(rng.nextFloat() * 65536),
            payload: new Uint8Array(Math.floor(rng.nextFloat() * 1500)),
            ...(rng.nextFloat() < 0.3 ? { ts: [rng.nextU32(), rng.nextU32()] as [number, number] } : {}),
            ...(rng.nextFloat() < 0.3 ? { sack: [[h.ourNxt + 100, h.ourNxt + Math.floor(rng.nextFloat() * 5000)]] as [number, number][] } : {}),
            ...(rng.nextFloat() < 0.1 ? { mss: Math.floor(rng.nextFloat() * 2000), wscale: Math.floor(rng.nextFloat() * 20) } : {}),
          });
          const b = buildSegment(spec, REMOTE, LOCAL);
          if (rng.nextFloat() < 0.1) b[20 + Math.floor(rng.nextFloat() * Math.max(1, b.length - 20))] = rng.nextU32() & 0xff;
          h.sendRaw(b);
          if (rng.nextFloat() < 0.1) h.advance(rng.nextFloat() * 5000);
          if (rng.nextFloat() < 0.05) conn.read(new Uint8Array(2000));
          invariants(h);
        }
        h.advance(600_000);
        invariants(h);
      }
    });
  }

  it('garbage at a listener and at closed ports', () => {
    const rng = new SeededRng(7);
    const h = new TcpHarness();
    h.listen(2);
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rng.nextFloat() * 80);
      const b = new Uint8Array(n);
      for (let k = 0; k < n; k++) b[k] = rng.nextU32() & 0xff;
      if (n >= 4 && rng.nextFloat() < 0.5) {
        b[2] = 0;
        b[3] = 80;
      }
      h.sendRaw(b);
      const spec = { seq: rng.nextU32(), ack: rng.nextU32(), flags: FLAGS[i % FLAGS.length]!, srcPort: 1 + (i % 50), payload: new Uint8Array(i % 7) };
      h.send(spec);
    }
    h.advance(600_000);
    invariants(h);
  });
});
