/**
 * Two TcpLayers joined by a simulated IP path on one ManualClock, with seeded impairments
 * applied per segment (loss, duplication, reordering, delay, corruption that the checksum
 * must catch) and an optional bottleneck (rate + drop-tail queue). Deterministic: every
 * random choice comes from the path's SeededRng; a failing run names its seed.
 *
 *   const sim = new TcpSim({ seed: 1, path: { loss: 0.01, delayMs: 10 } });
 *   const r = sim.transfer(1 << 20);          // client -> server bulk transfer, sha256 both ends
 *
 * (The Ethernet-level SimNetwork of src/link/sim.ts exercises the whole stack; this helper
 * isolates TCP so failures point at the engine.)
 */
import { createHash } from 'node:crypto';
import { ManualClock } from '../../src/core/clock.js';
import type { ErrnoName } from '../../src/core/errno.js';
import { SeededRng } from '../../src/core/rng.js';
import type { IpSendOptions, IpSender } from '../../src/ip/types.js';
import type { TcpConnection, TcpConnectionHandler, TcpOptions } from '../../src/tcp/api.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import { TcpLayer } from '../../src/tcp/layer.js';

export const CLIENT = 0x0a4d0001;
export const SERVER = 0x0a4d0002;

export interface PathOptions {
  /** One-way propagation delay, ms. */
  delayMs?: number;
  /** Extra uniform random delay in [0, jitterMs) per segment (reorders when > spacing). */
  jitterMs?: number;
  /** Probability a segment is dropped. */
  loss?: number;
  /** Probability a segment is delivered twice. */
  duplicate?: number;
  /** Probability a segment is held back by reorderMs (so later ones overtake it). */
  reorder?: number;
  reorderMs?: number;
  /** Probability one byte of the segment is flipped (the checksum must catch it). */
  corrupt?: number;
  /** Bottleneck rate in bytes per ms (undefined = unlimited) and its drop-tail queue in bytes. */
  rateBytesPerMs?: number;
  queueBytes?: number;
  /** Decide a drop per segment deterministically (after the random impairments): return true to drop. */
  dropIf?: (seg: SegInfo) => boolean;
}

export interface SegInfo {
  from: number;
  to: number;
  /** Index of this segment among those sent in this direction. */
  index: number;
  seq: number;
  flags: number;
  payloadLen: number;
  time: number;
}

/** One direction of the path. */
class Direction {
  sent = 0;
  dropped = 0;
  droppedPayload = 0;
  corrupted = 0;
  duplicated = 0;
  /** Time the bottleneck is busy until. */
  private busyUntil = 0;
  readonly sim: TcpSim;
  readonly from: number;
  readonly to: number;
  readonly opts: PathOptions;
  readonly rng: SeededRng;

  constructor(sim: TcpSim, from: number, to: number, opts: PathOptions, rng: SeededRng) {
    this.sim = sim;
    this.from = from;
    this.to = to;
    this.opts = opts;
    this.rng = rng;
  }

  send(bytes: Uint8Array): void {
    const now = this.sim.clock.now();
    const o = this.opts;
    const info: SegInfo = {
      from: this.from,
      to: this.to,
      index: this.sent++,
      seq: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
      flags: bytes[13]!,
      payloadLen: bytes.length - (bytes[12]! >>> 4) * 4,
      time: now,
    };
    this.sim.log.push(info);
    if (!this.sim.up || (o.loss !== undefined && this.rng.nextFloat() < o.loss) || o.dropIf?.(info)) {
      this.dropped++;
      this.droppedPayload += info.payloadLen;
      return;
    }
    let at = now;
    if (o.rateBytesPerMs !== undefined) {
      // Drop-tail bottleneck: the segment waits for the link; beyond queueBytes it is lost.
      const start = Math.max(now, this.busyUntil);
      const backlog = (start - now) * o.rateBytesPerMs;
      if (o.queueBytes !== undefined && backlog + bytes.length > o.queueBytes) {
        this.dropped++;
        this.droppedPayload += info.payloadLen;
        return;
      }
      this.busyUntil = start + bytes.length / o.rateBytesPerMs;
      at = this.busyUntil;
    }
    at += o.delayMs ?? 0;
    if (o.jitterMs) at += this.rng.nextFloat() * o.jitterMs;
    if (o.reorder !== undefined && this.rng.nextFloat() < o.reorder) at += o.reorderMs ?? 5;
    let copy = bytes;
    if (o.corrupt !== undefined && this.rng.nextFloat() < o.corrupt) {
      copy = bytes.slice();
      const i = Math.floor(this.rng.nextFloat() * copy.length);
      copy[i]! ^= 1 << Math.floor(this.rng.nextFloat() * 8);
      this.corrupted++;
    }
    this.sim.schedule(at, this.to, this.from, copy);
    if (o.duplicate !== undefined && this.rng.nextFloat() < o.duplicate) {
      this.duplicated++;
      this.sim.schedule(at + this.rng.nextFloat() * 2, this.to, this.from, bytes);
    }
  }
}

class SimIp implements IpSender {
  readonly scratch = new Uint8Array(65535);
  mtu = 1500;
  readonly localAddr: number;
  readonly dir: Direction;
  constructor(localAddr: number, dir: Direction) {
    this.localAddr = localAddr;
    this.dir = dir;
  }
  pathMtu(): number {
    return this.mtu;
  }
  /** Segments to addresses nobody owns (e.g. SYN-ACKs to spoofed sources). */
  misaddressed = 0;
  send(dst: number, _proto: number, len: number, _opts?: IpSendOptions): ErrnoName | undefined {
    if (dst !== this.dir.to) {
      this.misaddressed++;
      return undefined;
    }
    this.dir.send(this.scratch.slice(0, len));
    return undefined;
  }
}

export interface TcpSimOptions {
  seed: number;
  path?: PathOptions;
  /** Options for the reverse (server -> client) direction; default: the same as `path`. */
  reverse?: PathOptions;
  config?: Partial<TcpConfig>;
  clientConfig?: Partial<TcpConfig>;
  serverConfig?: Partial<TcpConfig>;
}

export class TcpSim {
  readonly clock = new ManualClock(0);
  readonly seed: number;
  readonly client: TcpLayer;
  readonly server: TcpLayer;
  readonly c2s: Direction;
  readonly s2c: Direction;
  readonly log: SegInfo[] = [];
  /** When false, every segment is lost (a dead path). */
  up = true;
  private readonly layers = new Map<number, TcpLayer>();

  constructor(o: TcpSimOptions) {
    // TCPIP_SIM_SEED replays a run with another seed (as SimNetwork does); failures name the seed.
    const env = process.env['TCPIP_SIM_SEED'];
    this.seed = env !== undefined && /^\d+$/.test(env) ? Number(env) >>> 0 : o.seed;
    const rng = new SeededRng(this.seed);
    const fwd = o.path ?? {};
    this.c2s = new Direction(this, CLIENT, SERVER, fwd, new SeededRng(rng.nextU32()));
    this.s2c = new Direction(this, SERVER, CLIENT, o.reverse ?? fwd, new SeededRng(rng.nextU32()));
    this.client = new TcpLayer({
      ip: new SimIp(CLIENT, this.c2s),
      clock: this.clock,
      rng: new SeededRng(rng.nextU32()),
      config: { ...o.config, ...o.clientConfig },
    });
    this.server = new TcpLayer({
      ip: new SimIp(SERVER, this.s2c),
      clock: this.clock,
      rng: new SeededRng(rng.nextU32()),
      config: { ...o.config, ...o.serverConfig },
    });
    this.layers.set(CLIENT, this.client);
    this.layers.set(SERVER, this.server);
  }

  schedule(at: number, to: number, from: number, bytes: Uint8Array): void {
    const layer = this.layers.get(to)!;
    const t = this.clock.createTimer(() => {
      layer.receive({ src: from, dst: to, ttl: 64, tos: 0, datagram: bytes }, bytes);
      layer.batchEnd();
    });
    t.arm(at);
  }

  /** Run events until `done()` or `limitMs` of virtual time; throws (with the seed) on a hang. */
  runUntil(done: () => boolean, limitMs: number, what = 'condition'): void {
    const end = this.clock.now() + limitMs;
    let steps = 0;
    while (!done()) {
      const next = this.clock.nextDeadline();
      if (next === undefined) throw new Error(`seed ${this.seed}: no more events before ${what} (t=${this.clock.now()})`);
      if (next > end) throw new Error(`seed ${this.seed}: ${what} not reached within ${limitMs} ms of virtual time`);
      this.clock.step();
      if (++steps > 50_000_000) throw new Error(`seed ${this.seed}: runaway simulation`);
    }
  }

  /** Advance virtual time, running every event on the way. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /**
   * Bulk transfer of `size` pseudo-random bytes client -> server (then both close), run to
   * completion. Returns both digests and statistics. The server listens on port 80.
   */
  transfer(size: number, opts: TransferOptions = {}): TransferResult {
    const t = this.startTransfer(size, opts);
    this.runUntil(t.done, opts.limitMs ?? 3_600_000, `transfer of ${size} bytes`);
    return t.finish();
  }

  /** Start a transfer; drive it with runUntil(t.done) / advance(), then t.finish(). */
  startTransfer(size: number, opts: TransferOptions = {}): Transfer {
    const listener = this.server.listen(SERVER, 80, opts.backlog ?? 128, opts.serverOpts);
    if (typeof listener === 'string') throw new Error(listener);
    const tx = createHash('sha256');
    const rx = createHash('sha256');
    const gen = new SeededRng(this.seed ^ 0x5eed);
    const chunk = new Uint8Array(opts.chunk ?? 65536);
    const st = { written: 0, received: 0, serverEof: false, clientClosed: false };
    let serverConn: TcpConnection | undefined;
    const errors: string[] = [];
    const rbuf = new Uint8Array(65536);
    let pending = 0; // bytes of `chunk` not yet accepted by write()
    let pendingOff = 0;
    // An application-limited writer releases one chunk per paceMs; otherwise all at once.
    let released = opts.paceMs !== undefined ? 0 : size;

    const pump = (c: TcpConnection): void => {
      while (st.written < released) {
        if (pending === 0) {
          const n = Math.min(chunk.length, released - st.written);
          for (let i = 0; i < n; i += 4) {
            const v = gen.nextU32();
            chunk[i] = v & 0xff;
            if (i + 1 < n) chunk[i + 1] = (v >>> 8) & 0xff;
            if (i + 2 < n) chunk[i + 2] = (v >>> 16) & 0xff;
            if (i + 3 < n) chunk[i + 3] = v >>> 24;
          }
          pending = n;
          pendingOff = 0;
        }
        const m = c.write(chunk.subarray(pendingOff, pendingOff + pending));
        if (m <= 0) return;
        tx.update(chunk.subarray(pendingOff, pendingOff + m));
        pendingOff += m;
        pending -= m;
        st.written += m;
      }
      if (st.written === size && !st.clientClosed) {
        st.clientClosed = true;
        c.close();
      }
    };
    const drain = (c: TcpConnection): void => {
      if (opts.pauseReaderUntil !== undefined && this.clock.now() < opts.pauseReaderUntil) return;
      for (;;) {
        const n = c.read(rbuf);
        if (n === 0) break;
        rx.update(rbuf.subarray(0, n));
        st.received += n;
      }
      if (c.eof && !st.serverEof) {
        st.serverEof = true;
        c.close();
      }
    };
    listener.setHandler({
      acceptable: () => {
        const c = listener.accept();
        if (c === undefined) return;
        serverConn = c;
        c.setHandler(handler(() => drain(c), errors, 'server'));
        drain(c);
      },
    });
    let clientConn: TcpConnection | undefined;
    const kick = (): void => {
      if (clientConn) pump(clientConn);
    };
    const cc = this.client.connect(CLIENT, 0, SERVER, 80, handler(kick, errors, 'client'), opts.clientOpts);
    if (typeof cc === 'string') throw new Error(cc);
    clientConn = cc;
    const start = this.clock.now();
    if (opts.paceMs !== undefined) {
      const paceMs = opts.paceMs;
      const pacer = this.clock.createTimer(() => {
        released = Math.min(size, released + chunk.length);
        kick();
        if (released < size) pacer.arm(this.clock.now() + paceMs);
      });
      pacer.arm(start);
    }
    if (opts.pauseReaderUntil !== undefined) {
      this.clock.createTimer(() => serverConn && drain(serverConn)).arm(opts.pauseReaderUntil);
    }
    let end = 0;
    const done = (): boolean => {
      if (errors.length > 0) return true;
      if (st.serverEof && st.received === size) {
        if (end === 0) end = this.clock.now();
        return true;
      }
      return false;
    };
    return {
      client: cc,
      get server() {
        return serverConn;
      },
      errors,
      state: st,
      done,
      finish: (): TransferResult => {
        if (errors.length > 0) throw new Error(`seed ${this.seed}: ${errors.join(', ')}`);
        // Let the close handshake finish.
        this.runUntil(() => cc.state === 'CLOSED' || cc.state === 'TIME-WAIT', 600_000, 'close');
        return {
          size,
          received: st.received,
          txHash: tx.digest('hex'),
          rxHash: rx.digest('hex'),
          virtualMs: (end || this.clock.now()) - start,
          client: cc,
          server: serverConn!,
          clientStats: this.client.stats(),
          serverStats: this.server.stats(),
        };
      },
    };
  }
}

export interface Transfer {
  readonly client: TcpConnection;
  readonly server: TcpConnection | undefined;
  readonly errors: string[];
  readonly state: { written: number; received: number; serverEof: boolean; clientClosed: boolean };
  done(): boolean;
  finish(): TransferResult;
}

export interface TransferOptions {
  limitMs?: number;
  backlog?: number;
  chunk?: number;
  clientOpts?: TcpOptions;
  serverOpts?: TcpOptions;
  /** The server application does not read before this virtual time (a stalled reader). */
  pauseReaderUntil?: number;
  /** Application-limited writer: one `chunk` every paceMs (default: everything at once). */
  paceMs?: number;
}

export interface TransferResult {
  size: number;
  received: number;
  txHash: string;
  rxHash: string;
  virtualMs: number;
  client: TcpConnection;
  server: TcpConnection;
  clientStats: ReturnType<TcpLayer['stats']>;
  serverStats: ReturnType<TcpLayer['stats']>;
}

function handler(onData: () => void, errors: string[], who: string): TcpConnectionHandler {
  return {
    connected: onData,
    readable: onData,
    writable: onData,
    error: (code) => errors.push(`${who}: ${code}`),
    closed: () => {},
  };
}
