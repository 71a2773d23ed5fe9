/**
 * SimNetwork: the deterministic test bed (after netstack3's DummyNetwork and smoltcp's
 * netsim). One ManualClock holds every event — frame deliveries of the memory links, the
 * impairment queues, and every protocol timer — on one heap ordered by (time, insertion
 * order); step() runs the single next event. One SeededRng, from the constructor seed or
 * TCPIP_SIM_SEED (which wins, to replay a failure), feeds every impairment, each link
 * direction with its own stream.
 *
 * Failing runs say how to replay them: the error carries the seed and
 * `TCPIP_SIM_SEED=<seed>`; with TCPIP_SIM_PCAP=<dir> every failing run also writes a pcap
 * per link pair into <dir> (capture is then on for every pair).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManualClock } from '../core/clock.js';
import { CryptoRng, SeededRng } from '../core/rng.js';
import { impair, type ImpairOptions, type ImpairedLink } from './impair.js';
import type { Link, LinkReceiver } from './link.js';
import { memoryLinkPair, type MemoryLink, type MemoryLinkOptions } from './memory.js';
import { PcapWriter } from './pcap.js';

export const SIM_SEED_ENV = 'TCPIP_SIM_SEED';
export const SIM_PCAP_ENV = 'TCPIP_SIM_PCAP';

export interface SimNetworkOptions {
  /** Seed of the run; TCPIP_SIM_SEED overrides it. Without either, a random seed (printed on failure). */
  seed?: number;
  /** Capture every delivered frame of every pair, for writePcap(). */
  capture?: boolean;
  /** Virtual start time in ms (default 0). */
  startMs?: number;
  /** Environment to read TCPIP_SIM_SEED / TCPIP_SIM_PCAP from (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface SimLinkOptions extends MemoryLinkOptions {
  /** Impairments applied to each direction's send path, each direction with its own Rng stream. */
  impair?: ImpairOptions;
  /** Capture this pair even when the network does not capture by default. */
  capture?: boolean;
}

export interface SimPair {
  /** The two ends handed to the caller (index 0 and 1). */
  readonly links: [Link, Link];
  readonly memory: [MemoryLink, MemoryLink];
  readonly impaired: [ImpairedLink, ImpairedLink] | undefined;
  readonly pcap: PcapWriter | undefined;
}

export class SimulationError extends Error {
  readonly seed: number;
  constructor(message: string, seed: number) {
    super(message);
    this.name = 'SimulationError';
    this.seed = seed;
  }
}

export class SimNetwork {
  readonly clock: ManualClock;
  readonly rng: SeededRng;
  readonly seed: number;
  readonly seedSource: 'constructor' | 'env' | 'random';
  /** Events run so far. */
  steps = 0;
  private readonly pairsList: SimPair[] = [];
  private readonly captureAll: boolean;
  private readonly pcapDir: string | undefined;

  constructor(opts: number | SimNetworkOptions = {}) {
    const o: SimNetworkOptions = typeof opts === 'number' ? { seed: opts } : opts;
    const env = o.env ?? process.env;
    const fromEnv = parseSeed(env[SIM_SEED_ENV]);
    if (fromEnv !== undefined) {
      this.seed = fromEnv;
      this.seedSource = 'env';
    } else if (o.seed !== undefined) {
      this.seed = o.seed >>> 0;
      this.seedSource = 'constructor';
    } else {
      this.seed = new CryptoRng().nextU32();
      this.seedSource = 'random';
    }
    const dir = env[SIM_PCAP_ENV];
    this.pcapDir = dir === undefined || dir === '' ? undefined : dir;
    this.captureAll = (o.capture ?? false) || this.pcapDir !== undefined;
    this.clock = new ManualClock(o.startMs ?? 0);
    this.rng = new SeededRng(this.seed);
  }

  now(): number {
    return this.clock.now();
  }

  /** A cable between two endpoints; see SimLinkOptions. */
  linkPair(opts: SimLinkOptions = {}): [Link, Link] {
    const memory = memoryLinkPair(this.clock, opts);
    let ends: [Link, Link] = memory;
    let impaired: [ImpairedLink, ImpairedLink] | undefined;
    if (opts.impair !== undefined) {
      impaired = [
        impair(memory[0], this.clock, new SeededRng(this.rng.nextU32()), opts.impair),
        impair(memory[1], this.clock, new SeededRng(this.rng.nextU32()), opts.impair),
      ];
      ends = impaired;
    }
    let pcap: PcapWriter | undefined;
    if (this.captureAll || opts.capture === true) {
      const w = new PcapWriter({ clock: this.clock });
      pcap = w;
      ends = [new CaptureLink(ends[0], w), new CaptureLink(ends[1], w)];
    }
    this.pairsList.push({ links: ends, memory, impaired, pcap });
    return ends;
  }

  /** Pair `i` in creation order, with its memory links, impairment stats and capture. */
  pair(i = 0): SimPair {
    const p = this.pairsList[i];
    if (p === undefined) throw new RangeError(`no link pair ${i} (have ${this.pairsList.length})`);
    return p;
  }

  get pairs(): readonly SimPair[] {
    return this.pairsList;
  }

  /** Run the single next event (frame delivery group or timer). False when nothing is pending. */
  step(): boolean {
    const ran = this.clock.step();
    if (ran) this.steps++;
    return ran;
  }

  /**
   * Step until pred() holds; returns the number of steps taken. Throws a SimulationError
   * (with the seed and how to replay) after `maxSteps`, when the next event lies beyond
   * `maxTimeMs` of virtual time from now, or when nothing is left to run.
   */
  runUntil(pred: () => boolean, maxSteps = 1_000_000, maxTimeMs?: number): number {
    if (pred()) return 0;
    const t0 = this.clock.now();
    let n = 0;
    for (;;) {
      if (n >= maxSteps) this.failWithSeed(`runUntil: condition still false after ${maxSteps} steps (runaway?)`);
      const next = this.clock.nextDeadline();
      if (next === undefined) this.failWithSeed(`runUntil: no events left and the condition is still false`);
      if (maxTimeMs !== undefined && next > t0 + maxTimeMs) {
        this.clock.advanceTo(t0 + maxTimeMs);
        this.failWithSeed(`runUntil: condition still false after ${maxTimeMs} ms of virtual time`);
      }
      this.step();
      n++;
      if (pred()) return n;
    }
  }

  /** Run every event due in the next `ms` of virtual time, then set the clock to now + ms. */
  runFor(ms: number, maxSteps = 1_000_000): void {
    const target = this.clock.now() + ms;
    let n = 0;
    for (;;) {
      const next = this.clock.nextDeadline();
      if (next === undefined || next > target) break;
      if (n >= maxSteps) this.failWithSeed(`runFor(${ms}): more than ${maxSteps} events (runaway?)`);
      this.step();
      n++;
    }
    this.clock.advanceTo(target);
  }

  /** Run until no event is pending (fails after maxSteps: something re-arms forever). */
  runUntilIdle(maxSteps = 1_000_000): number {
    let n = 0;
    while (this.clock.nextDeadline() !== undefined) {
      if (n >= maxSteps) this.failWithSeed(`runUntilIdle: still busy after ${maxSteps} steps`);
      this.step();
      n++;
    }
    return n;
  }

  /** The capture of pair `i` as pcap bytes (the pair must be captured). */
  pcapBytes(i = 0): Uint8Array {
    const w = this.pair(i).pcap;
    if (w === undefined) throw new Error(`link pair ${i} is not captured: pass { capture: true } (or set ${SIM_PCAP_ENV}=<dir>)`);
    return w.toBuffer();
  }

  writePcap(file: string, i = 0): void {
    fs.writeFileSync(file, this.pcapBytes(i));
  }

  /** One file per captured pair: <dir>/<prefix>-pair<i>.pcap. Returns the paths written. */
  writePcaps(dir: string, prefix = `sim-seed${this.seed}`): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const out: string[] = [];
    this.pairsList.forEach((p, i) => {
      if (p.pcap === undefined) return;
      const f = path.join(dir, `${prefix}-pair${i}.pcap`);
      fs.writeFileSync(f, p.pcap.toBuffer());
      out.push(f);
    });
    return out;
  }

  describe(): string {
    const how = this.seedSource === 'env' ? `from ${SIM_SEED_ENV}` : this.seedSource === 'random' ? 'random' : 'fixed by the test';
    return (
      `SimNetwork seed=${this.seed} (${how}), virtual time ${this.clock.now()} ms, ${this.steps} steps, ` +
      `${this.pairsList.length} link pair(s). Replay: ${SIM_SEED_ENV}=${this.seed} npx vitest run <test file>` +
      (this.pcapDir === undefined ? `; add ${SIM_PCAP_ENV}=<dir> for pcaps` : '')
    );
  }

  /** Throw a SimulationError carrying the seed, the replay command and (with TCPIP_SIM_PCAP) pcap paths. */
  failWithSeed(msg: string): never {
    let text = `${msg}\n${this.describe()}`;
    if (this.pcapDir !== undefined) {
      try {
        const files = this.writePcaps(this.pcapDir);
        text += `\npcap: ${files.length > 0 ? files.join(', ') : '(no captured pairs)'}`;
      } catch (e) {
        text += `\npcap: could not write to ${this.pcapDir}: ${(e as Error).message}`;
      }
    }
    throw new SimulationError(text, this.seed);
  }
}

function parseSeed(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const t = s.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`${SIM_SEED_ENV}=${s}: want an integer in [0, 2^32)`);
  }
  return n;
}

/** Records every frame delivered to this end into a shared pcap writer. */
class CaptureLink implements Link {
  private readonly inner: Link;
  private readonly pcap: PcapWriter;

  constructor(inner: Link, pcap: PcapWriter) {
    this.inner = inner;
    this.pcap = pcap;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  send(frame: Uint8Array): boolean {
    return this.inner.send(frame);
  }

  setReceiver(receiver: LinkReceiver): void {
    const pcap = this.pcap;
    this.inner.setReceiver({
      receive(frame: Uint8Array): void {
        pcap.write(frame);
        receiver.receive(frame);
      },
      batchEnd(): void {
        receiver.batchEnd?.();
      },
    });
  }

  close(): void {
    this.inner.close();
  }
}
