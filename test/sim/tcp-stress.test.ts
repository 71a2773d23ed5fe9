/**
 * Many seeds, harsh paths: unidirectional transfers with tiny buffers and heavy loss, and
 * bidirectional transfers (data and ACKs share segments; SACK blocks ride on data) under
 * every option combination. Every byte must arrive, in order, on both ends.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import type { TcpConnection } from '../../src/tcp/api.js';
import { CLIENT, SERVER, TcpSim } from '../helpers/tcp-sim.js';

const CONFIGS = [{}, { sack: false }, { timestamps: false }, { minRto: 200, sack: false, timestamps: false, windowScaling: false }];

describe('unidirectional, harsh', () => {
  it('100 seeds: 10-30% loss, reordering, duplication, corruption, 1-7 KB buffers', () => {
    const fails: string[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const cfg = CONFIGS[seed % CONFIGS.length]!;
      const path = { delayMs: (seed * 7) % 200, jitterMs: seed % 11, loss: 0.1 + (seed % 5) * 0.05, reorder: 0.1, reorderMs: 20, duplicate: 0.05, corrupt: 0.03 };
      try {
        const sim = new TcpSim({ seed, path, config: { ...cfg, retries2: 30 } });
        const r = sim.transfer(40_000 + seed * 100, {
          limitMs: 36_000_000,
          serverOpts: { recvBufferSize: 1000 + (seed % 5) * 1500 },
          clientOpts: { sendBufferSize: 1000 + (seed % 3) * 3000, noDelay: seed % 2 === 0 },
          chunk: 700,
        });
        if (r.rxHash !== r.txHash) fails.push(`seed ${seed}: digest mismatch`);
      } catch (e) {
        fails.push(`seed ${seed} ${JSON.stringify(cfg)}: ${(e as Error).message}`);
      }
    }
    expect(fails).toEqual([]);
  });
});

function endpoint(size: number, seed: number) {
  const gen = new SeededRng(seed);
  const tx = createHash('sha256');
  const rx = createHash('sha256');
  const chunk = new Uint8Array(8192);
  const buf = new Uint8Array(30000);
  let pend = 0;
  let off = 0;
  const st = { written: 0, received: 0, eof: false, shut: false, err: '' };
  return {
    st,
    tx,
    rx,
    pump(c: TcpConnection): void {
      while (st.written < size) {
        if (pend === 0) {
          pend = Math.min(chunk.length, size - st.written);
          for (let i = 0; i < pend; i++) chunk[i] = gen.nextU32() & 0xff;
          off = 0;
        }
        const m = c.write(chunk.subarray(off, off + pend));
        if (m <= 0) return;
        tx.update(chunk.subarray(off, off + m));
        off += m;
        pend -= m;
        st.written += m;
      }
      if (!st.shut) {
        st.shut = true;
        c.shutdown('wr'); // half-close: keep reading the other direction
      }
    },
    drain(c: TcpConnection): void {
      for (let n = c.read(buf); n > 0; n = c.read(buf)) {
        rx.update(buf.subarray(0, n));
        st.received += n;
      }
      if (c.eof) st.eof = true;
    },
  };
}

describe('bidirectional', () => {
  it('40 seeds: both ends send and receive at once, then close', () => {
    const fails: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const cfg = CONFIGS[seed % CONFIGS.length]!;
      const path = { delayMs: 1 + (seed % 20), jitterMs: seed % 4, loss: (seed % 6) * 0.02, reorder: (seed % 4) * 0.03, reorderMs: 6, duplicate: (seed % 3) * 0.02, corrupt: (seed % 5) * 0.01 };
      const sim = new TcpSim({ seed, path, config: cfg });
      const size = 200_000 + seed * 3000;
      const a = endpoint(size, seed);
      const b = endpoint(size + 777, seed + 1000);
      const l = sim.server.listen(SERVER, 80, 4, { recvBufferSize: seed % 2 ? 12000 : 65536 });
      if (typeof l === 'string') throw new Error(l);
      let sc: TcpConnection | undefined;
      l.setHandler({
        acceptable: () => {
          const s = l.accept()!;
          sc = s;
          const h = (): void => {
            b.pump(s);
            b.drain(s);
          };
          s.setHandler({ connected: h, readable: h, writable: h, error: (e) => (b.st.err = e), closed: () => {} });
          h();
        },
      });
      let cc: TcpConnection | undefined;
      const h = (): void => {
        if (cc) {
          a.pump(cc);
          a.drain(cc);
        }
      };
      const r = sim.client.connect(CLIENT, 0, SERVER, 80, { connected: h, readable: h, writable: h, error: (e) => (a.st.err = e), closed: () => {} }, { sendBufferSize: 30000 });
      if (typeof r === 'string') throw new Error(r);
      cc = r;
      try {
        sim.runUntil(() => (a.st.eof && b.st.eof) || a.st.err !== '' || b.st.err !== '', 3_600_000, 'both EOFs');
        if (a.st.err || b.st.err) fails.push(`seed ${seed}: errors ${a.st.err} ${b.st.err}`);
        else if (a.st.received !== size + 777 || b.st.received !== size) fails.push(`seed ${seed}: short`);
        else if (a.tx.digest('hex') !== b.rx.digest('hex') || b.tx.digest('hex') !== a.rx.digest('hex')) fails.push(`seed ${seed}: digest`);
        sc!.close();
        cc.close();
        sim.runUntil(() => cc!.state === 'CLOSED' && sc!.state === 'CLOSED', 600_000, 'both CLOSED');
      } catch (e) {
        fails.push(`seed ${seed} ${JSON.stringify(cfg)}: ${(e as Error).message}`);
      }
    }
    expect(fails).toEqual([]);
  });
});
