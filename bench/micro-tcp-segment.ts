/**
 * Micro-benchmarks of TCP segment handling, without Ethernet/IPv4 around it:
 * - header parse: decodeSegment() of a 1460-byte data segment carrying timestamps, with and
 *   without checksum verification (what GRO/checksum offload lets us skip);
 * - segment processing: two TcpLayers joined back to back through a fake IpSender (each
 *   datagram handed over on a queue, never re-entrantly) moving 64 KB per iteration in
 *   1460-byte segments: the sender's output path, the receiver's input path and ACK
 *   generation, the sender's ACK processing; per data segment.
 *
 *   npx tsc -p . --outDir /tmp/tcpip-bench && node /tmp/tcpip-bench/bench/micro-tcp-segment.js
 *   (BENCH_TIME_MS=500 by default; `npx vite-node bench/micro-tcp-segment.ts` works, slower)
 *
 * Prints one JSON object: per task, operations per second and ns per operation.
 */
import { Bench } from 'tinybench';
import { ManualClock } from '../src/core/clock.js';
import type { ErrnoName } from '../src/core/errno.js';
import { SeededRng } from '../src/core/rng.js';
import { seq } from '../src/core/seq.js';
import type { IpRxInfo, IpSender, IpSendOptions } from '../src/ip/types.js';
import type { TcpConnection, TcpConnectionHandler } from '../src/tcp/api.js';
import { decodeSegment, OptionsOut, Segment, setChecksum, TcpFlag, writeHeader, writeOptions } from '../src/tcp/header.js';
import { TcpLayer } from '../src/tcp/layer.js';

const A = 0x0a4d0001;
const B = 0x0a4d0002;
const MSS = 1460;
const time = Number(process.env['BENCH_TIME_MS'] ?? 500);
const bench = new Bench({ time, warmupTime: 100 });
const perIteration = new Map<string, number>();
let sink = 0;

// ---- header parse -------------------------------------------------------------------
const seg = new Uint8Array(20 + 12 + MSS);
{
  const o = new OptionsOut();
  o.timestamp = true;
  o.tsVal = 123456;
  o.tsEcr = 654321;
  const optLen = writeOptions(seg, 20, o);
  writeHeader(seg, { srcPort: 49152, dstPort: 80, seq: seq(1000), ack: seq(2000), flags: TcpFlag.ACK | TcpFlag.PSH, window: 65535 }, 20 + optLen);
  for (let i = 0; i < MSS; i++) seg[20 + optLen + i] = i & 0xff;
  setChecksum(seg, seg.length, A, B);
}
const out = new Segment();
bench.add('decodeSegment, 1460 B + timestamps, checksum verified', () => {
  if (decodeSegment(seg, A, B, out) !== undefined) throw new Error('decode failed');
  sink += out.payload.length;
});
bench.add('decodeSegment, 1460 B + timestamps, checksum trusted (offload)', () => {
  if (decodeSegment(seg, A, B, out, false) !== undefined) throw new Error('decode failed');
  sink += out.payload.length;
});

// ---- segment processing -------------------------------------------------------------
/** A fake IPv4 below one TcpLayer: sent datagrams are copied onto the peer's queue. */
class Wire implements IpSender {
  readonly localAddr: number;
  readonly scratch = new Uint8Array(65535);
  peer: Wire | undefined;
  layer: TcpLayer | undefined;
  private readonly queue: Uint8Array[] = [];
  private readonly free: Uint8Array[] = [];
  private readonly info: IpRxInfo;

  constructor(addr: number, peerAddr: number) {
    this.localAddr = addr;
    this.info = { src: peerAddr, dst: addr, ttl: 64, tos: 0, datagram: new Uint8Array(0) };
  }
  pathMtu(): number {
    return 1500;
  }
  send(_dst: number, _proto: number, len: number, _opts?: IpSendOptions): ErrnoName | undefined {
    const q = this.peer!;
    let b = q.free.pop();
    if (b === undefined || b.length < len) b = new Uint8Array(Math.max(len, 2048));
    b.set(this.scratch.subarray(0, len));
    q.queue.push(b.subarray(0, len));
    return undefined;
  }
  /** Deliver everything queued for this side; true if anything was delivered. */
  pump(): boolean {
    if (this.queue.length === 0) return false;
    const batch = this.queue.splice(0, this.queue.length);
    for (const d of batch) {
      this.layer!.receive(this.info, d);
      this.free.push(new Uint8Array(d.buffer, d.byteOffset, d.buffer.byteLength - d.byteOffset));
    }
    this.layer!.batchEnd();
    return true;
  }
}

const clock = new ManualClock(0);
const wa = new Wire(A, B);
const wb = new Wire(B, A);
wa.peer = wb;
wb.peer = wa;
const la = new TcpLayer({ ip: wa, clock, rng: new SeededRng(1) });
const lb = new TcpLayer({ ip: wb, clock, rng: new SeededRng(2) });
wa.layer = la;
wb.layer = lb;
const listener = lb.listen(B, 80, 8);
if (typeof listener === 'string') throw new Error(listener);
let server: TcpConnection | undefined;
listener.setHandler({ acceptable: () => (server = listener.accept()) });
const quiet: TcpConnectionHandler = { connected() {}, readable() {}, writable() {}, error(e) { throw new Error(e); }, closed() {} };
const client = la.connect(A, 0, B, 80, quiet);
if (typeof client === 'string') throw new Error(client);
const settle = (): void => {
  for (let i = 0; i < 1_000_000 && (wa.pump() || wb.pump()); i++);
};
settle();
if (server === undefined) throw new Error('no connection');
server.setHandler(quiet);
const chunk = new Uint8Array(64 * 1024);
const rbuf = new Uint8Array(64 * 1024);
bench.add('bulk transfer between two TcpLayers, per 1460-byte segment', () => {
  let left = chunk.length;
  while (left > 0) {
    left -= Math.max(0, client.write(chunk.subarray(0, left)));
    settle();
    for (let n = server!.read(rbuf); n > 0; n = server!.read(rbuf)) sink += n;
    settle();
  }
});
perIteration.set('bulk transfer between two TcpLayers, per 1460-byte segment', Math.ceil(chunk.length / MSS));

await bench.run();
const results: Record<string, unknown>[] = [];
for (const t of bench.tasks) {
  const r = t.result;
  if (r.state !== 'completed') {
    results.push({ task: t.name, state: r.state });
    continue;
  }
  const opsPerSec = (1000 / r.period) * (perIteration.get(t.name) ?? 1);
  results.push({ task: t.name, opsPerSec: Math.round(opsPerSec), nsPerOp: Number((1e9 / opsPerSec).toFixed(1)) });
}
console.log(JSON.stringify({ bench: 'micro-tcp-segment', node: process.version, sink: sink & 1, results }, null, 2));
