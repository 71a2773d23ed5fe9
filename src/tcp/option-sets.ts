/**
 * Connection options as shared, frozen objects ("option sets"): connections with the same
 * options hold the same set — most hold their layer's defaults, or the defaults plus
 * TCP_NODELAY — instead of ~100 bytes each (memory per idle connection). A layer interns its
 * sets: the defaults, and the set reached from a set by changing one option, up to
 * MAX_OPTION_SETS (past that, new sets are simply not shared). Connection.setOptions() swaps
 * its set for another; nobody mutates one.
 */
import type { TcpOptions } from './api.js';
import type { TcpConfig } from './config.js';

export type OptionSet = Readonly<Required<TcpOptions>>;
type OptionKey = keyof TcpOptions;

const MAX_OPTION_SETS = 256;

/** A frozen copy with every field in one order (one hidden class for all sets). */
function optionSet(o: Required<TcpOptions>): OptionSet {
  return Object.freeze({
    noDelay: o.noDelay,
    keepAlive: o.keepAlive,
    keepIdle: o.keepIdle,
    keepInterval: o.keepInterval,
    keepCount: o.keepCount,
    sendBufferSize: o.sendBufferSize,
    recvBufferSize: o.recvBufferSize,
    maxSegment: o.maxSegment,
    congestion: o.congestion,
  });
}

export class OptionSets {
  /** The options of a connection nobody configured (Linux defaults, from the TcpConfig). */
  readonly defaults: OptionSet;
  /** Transitions: from a set, `key=value` leads to the interned set. */
  private readonly next = new Map<OptionSet, Map<string, OptionSet>>();
  private count = 1;

  constructor(cfg: TcpConfig) {
    this.defaults = optionSet({
      noDelay: false,
      keepAlive: false,
      keepIdle: cfg.keepaliveIdle,
      keepInterval: cfg.keepaliveInterval,
      keepCount: cfg.keepaliveCount,
      sendBufferSize: cfg.defaultSendBuffer,
      recvBufferSize: cfg.defaultRecvBuffer,
      maxSegment: 0,
      congestion: cfg.defaultCongestion,
    });
  }

  /** Sets interned so far (the defaults included). */
  get size(): number {
    return this.count;
  }

  /** `from` with option `k` set to `v` (an interned set when possible). */
  with<K extends OptionKey>(from: OptionSet, k: K, v: Required<TcpOptions>[K]): OptionSet {
    if (from[k] === v) return from;
    const key = `${k}=${String(v)}`;
    let edges = this.next.get(from);
    const hit = edges?.get(key);
    if (hit !== undefined) return hit;
    const made = optionSet({ ...from, [k]: v });
    if (this.count >= MAX_OPTION_SETS) return made;
    if (edges === undefined) {
      edges = new Map();
      this.next.set(from, edges);
    }
    edges.set(key, made);
    this.count++;
    return made;
  }

  /** `from` with every option that `o` sets (undefined fields and unknown keys leave it as it is). */
  withAll(from: OptionSet, o: TcpOptions): OptionSet {
    let r = from;
    const src = o as Record<string, unknown>;
    for (const k in src) {
      const v = src[k];
      if (v !== undefined && k in r) r = this.with(r, k as OptionKey, v as never);
    }
    return r;
  }
}
