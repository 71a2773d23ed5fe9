/**
 * Micro-benchmarks of the TCP building blocks:
 * - ReceiveBuffer: 1460-byte segments written in order and read back; the same written out
 *   of order (each pair swapped, every 8th segment held back until the end of a window), with
 *   the SACK blocks an ACK would carry generated after every out-of-order write; a 100-byte
 *   request written and read (the buffer empties every time);
 * - SendBuffer: 1460-byte writes, each copied out as a segment and acknowledged; a 100-byte
 *   response written, copied out, acknowledged (the buffer empties every time);
 * - SackScoreboard: update() with 3 SACK blocks per ACK during a recovery with 16 holes,
 *   then SetPipe() and NextSeg(), as the sender does per ACK.
 *
 *   npx vite-node bench/micro-tcp-parts.ts            (BENCH_TIME_MS=500 by default)
 *
 * Prints one JSON object: per task, segments (or ACKs) per second and ns per segment.
 */
import { Bench } from 'tinybench';
import { seq, seqAdd, type Seq } from '../src/core/seq.js';
import { ReceiveBuffer } from '../src/tcp/recv-buffer.js';
import { SackScoreboard, type SackBlock } from '../src/tcp/scoreboard.js';
import { BufferPool, SendBuffer } from '../src/tcp/send-buffer.js';

const MSS = 1460;
const SEGS = 44; // 44 * 1460 = 64,240 bytes: one 64 KB window per iteration
const time = Number(process.env['BENCH_TIME_MS'] ?? 500);
const bench = new Bench({ time, warmupTime: 100 });
const perIteration = new Map<string, number>();
let sink = 0;

const payload = new Uint8Array(MSS);
for (let i = 0; i < MSS; i++) payload[i] = (i * 13 + 1) & 0xff;
const readBuf = new Uint8Array(65536);
// The buffers take their storage from a pool, as in a TcpLayer.
const pool = new BufferPool();

// --- ReceiveBuffer, in order -------------------------------------------------------------
{
  const rb = new ReceiveBuffer(65536, pool);
  let nxt: Seq = seq(0xfff00000); // crosses the 2^32 wrap during the run
  rb.init(nxt);
  perIteration.set('recv-buffer/in-order', SEGS);
  bench.add('recv-buffer/in-order', () => {
    for (let k = 0; k < SEGS; k++) {
      sink += rb.write(nxt, payload);
      nxt = seqAdd(nxt, MSS);
    }
    sink += rb.read(readBuf);
  });
}

// --- ReceiveBuffer, out of order with SACK generation -----------------------------------
{
  const rb = new ReceiveBuffer(65536, pool);
  let base: Seq = seq(0);
  rb.init(base);
  // Order: pairs swapped (1,0,3,2,...), segments with index % 8 == 0 held back to the end.
  const order: number[] = [];
  for (let k = 0; k < SEGS; k += 2) {
    if (k + 1 < SEGS && (k + 1) % 8 !== 0) order.push(k + 1);
    if (k % 8 !== 0) order.push(k);
  }
  for (let k = 0; k < SEGS; k += 8) order.push(k);
  const sackOut = new Uint32Array(8);
  perIteration.set('recv-buffer/out-of-order+sack', SEGS);
  bench.add('recv-buffer/out-of-order+sack', () => {
    for (const k of order) {
      sink += rb.write(seqAdd(base, k * MSS), payload);
      sink += rb.sackBlocksInto(sackOut, 3);
    }
    base = seqAdd(base, SEGS * MSS);
    sink += rb.read(readBuf);
  });
}

// --- ReceiveBuffer, request/response: 100 bytes in, read, empty ---------------------------
{
  const rb = new ReceiveBuffer(256 * 1024, pool);
  let nxt: Seq = seq(1);
  rb.init(nxt);
  const req = payload.subarray(0, 100);
  perIteration.set('recv-buffer/request-response', SEGS);
  bench.add('recv-buffer/request-response', () => {
    for (let k = 0; k < SEGS; k++) {
      sink += rb.write(nxt, req);
      nxt = seqAdd(nxt, req.length);
      sink += rb.read(readBuf);
    }
  });
}

// --- SendBuffer: full segments written, copied out, acknowledged ------------------------
const segBuf = new Uint8Array(MSS + 60);
{
  const sb = new SendBuffer(256 * 1024, pool);
  perIteration.set('send-buffer/write+copyOut+consume', SEGS);
  bench.add('send-buffer/write+copyOut+consume', () => {
    // A window's worth queued, sent as segments, then acknowledged two segments at a time.
    for (let k = 0; k < SEGS; k++) sink += sb.write(payload);
    for (let k = 0; k < SEGS; k++) sb.copyOut(k * MSS, MSS, segBuf, 60);
    for (let k = 0; k < SEGS; k += 2) sb.consume(2 * MSS);
  });
}

// --- SendBuffer, request/response: 100 bytes queued, sent, acknowledged: empty ----------
{
  const sb = new SendBuffer(256 * 1024, pool);
  const resp = payload.subarray(0, 100);
  perIteration.set('send-buffer/request-response', SEGS);
  bench.add('send-buffer/request-response', () => {
    for (let k = 0; k < SEGS; k++) {
      sink += sb.write(resp);
      sb.copyOut(0, resp.length, segBuf, 60);
      sb.consume(resp.length);
    }
  });
}

// --- SackScoreboard: update + pipe + nextSeg per ACK ------------------------------------
{
  // 64 segments outstanding, every 4th lost: 16 holes. ACKs arrive for the delivered
  // segments in order, each carrying the 3 most recent SACK blocks (as RFC 2018 receivers do).
  const FLIGHT = 64;
  const acks: SackBlock[][] = [];
  const una0 = seq(1_000_000);
  const ranges: SackBlock[] = [];
  for (let k = 1; k < FLIGHT; k++) {
    if (k % 4 === 0) continue;
    const s = seqAdd(una0, k * MSS);
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.end === s) last.end = seqAdd(s, MSS);
    else ranges.push({ start: s, end: seqAdd(s, MSS) });
    const recent = ranges.slice(-3).reverse().map((b) => ({ ...b }));
    acks.push(recent);
  }
  const sndNxt = seqAdd(una0, FLIGHT * MSS);
  const sb = new SackScoreboard();
  perIteration.set('scoreboard/update+pipe+nextSeg', acks.length);
  bench.add('scoreboard/update+pipe+nextSeg', () => {
    sb.reset();
    let highRxt = una0;
    for (const blocks of acks) {
      sink += sb.update(una0, sndNxt, blocks).newlySacked;
      sink += sb.pipe(una0, sndNxt, highRxt, MSS);
      const next = sb.nextSeg({ sndUna: una0, sndNxt, highRxt, rescueRxt: undefined, recoveryPoint: sndNxt, mss: MSS, newDataLimit: sndNxt });
      if (next !== undefined && next.rule === 1) highRxt = next.end;
    }
  });
}

await bench.run();

const results: Record<string, unknown>[] = [];
for (const t of bench.tasks) {
  const r = t.result;
  if (r.state !== 'completed') {
    results.push({ task: t.name, state: r.state });
    continue;
  }
  const n = perIteration.get(t.name)!;
  const opsPerSec = (1000 / r.period) * n;
  const row: Record<string, unknown> = {
    task: t.name,
    opsPerSec: Math.round(opsPerSec),
    nsPerOp: Number((1e9 / opsPerSec).toFixed(1)),
  };
  if (t.name.endsWith('in-order') || t.name.endsWith('+sack') || t.name.endsWith('+consume')) row['gbitPerSec'] = Number(((opsPerSec * MSS * 8) / 1e9).toFixed(2));
  results.push(row);
}
console.log(JSON.stringify({ bench: 'micro-tcp-parts', node: process.version, sink: sink & 1, results }, null, 2));
