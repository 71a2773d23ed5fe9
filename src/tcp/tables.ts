/**
 * The layer's lookup structures: connections by 4-tuple (a hash of the tuple into a Map,
 * chained through Connection.nextInBucket, so a lookup allocates nothing), and the port
 * table that bind(), listen() and connect() reserve ports in (Linux's bind hash).
 */
import type { Connection } from './connection.js';

function tupleHash(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
  let h = Math.imul(remoteAddr ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(((localPort << 16) | remotePort) ^ 0x27d4eb2f, 0xc2b2ae35);
  h ^= Math.imul(localAddr, 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

export class ConnTable {
  private readonly buckets = new Map<number, Connection>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): Connection | undefined {
    let c = this.buckets.get(tupleHash(localAddr, localPort, remoteAddr, remotePort));
    while (c !== undefined) {
      if (c.remotePort === remotePort && c.localPort === localPort && c.remoteAddr === remoteAddr && c.localAddr === localAddr) {
        return c;
      }
      c = c.nextInBucket;
    }
    return undefined;
  }

  add(c: Connection): void {
    const h = tupleHash(c.localAddr, c.localPort, c.remoteAddr, c.remotePort);
    c.nextInBucket = this.buckets.get(h);
    this.buckets.set(h, c);
    this.count++;
  }

  remove(c: Connection): boolean {
    const h = tupleHash(c.localAddr, c.localPort, c.remoteAddr, c.remotePort);
    let p = this.buckets.get(h);
    let prev: Connection | undefined;
    while (p !== undefined && p !== c) {
      prev = p;
      p = p.nextInBucket;
    }
    if (p === undefined) return false;
    if (prev === undefined) {
      if (c.nextInBucket === undefined) this.buckets.delete(h);
      else this.buckets.set(h, c.nextInBucket);
    } else {
      prev.nextInBucket = c.nextInBucket;
    }
    c.nextInBucket = undefined;
    this.count--;
    return true;
  }

  *values(): IterableIterator<Connection> {
    for (const head of this.buckets.values()) {
      for (let c: Connection | undefined = head; c !== undefined; c = c.nextInBucket) yield c;
    }
  }
}

/** One holder of a local port. */
export interface PortUser {
  addr: number;
  reuse: boolean;
  kind: 'bind' | 'listen' | 'conn';
  /** For 'conn': its state (a TIME-WAIT holder yields to SO_REUSEADDR). */
  conn?: { readonly state: string };
  /** Index in its port's list (kept by PortTable, for O(1) removal). */
  slot?: number;
}

export class PortTable {
  private readonly ports = new Map<number, PortUser[]>();

  /** Ports with at least one holder. */
  get size(): number {
    return this.ports.size;
  }

  users(port: number): readonly PortUser[] {
    return this.ports.get(port) ?? [];
  }

  inUse(port: number): boolean {
    return (this.ports.get(port)?.length ?? 0) > 0;
  }

  /**
   * Linux-like bind conflict: the addresses overlap (equal or either is 0.0.0.0) and not
   * (both sides set SO_REUSEADDR and the holder is not listening), and the holder is not a
   * TIME-WAIT connection that SO_REUSEADDR may take over.
   */
  conflicts(addr: number, port: number, reuse: boolean): boolean {
    for (const u of this.users(port)) {
      if (u.addr !== 0 && addr !== 0 && u.addr !== addr) continue;
      if (reuse && u.kind === 'conn' && u.conn?.state === 'TIME-WAIT') continue;
      if (reuse && u.reuse && u.kind !== 'listen') continue;
      return true;
    }
    return false;
  }

  add(port: number, u: PortUser): void {
    let list = this.ports.get(port);
    if (list === undefined) {
      list = [];
      this.ports.set(port, list);
    }
    u.slot = list.length;
    list.push(u);
  }

  /** Remove in O(1) (a listening port may have thousands of connections): the last entry takes u's slot. */
  remove(port: number, u: PortUser): void {
    const list = this.ports.get(port);
    if (list === undefined) return;
    const i = u.slot !== undefined && list[u.slot] === u ? u.slot : list.indexOf(u);
    if (i < 0) return;
    const last = list.pop()!;
    if (last !== u) {
      list[i] = last;
      last.slot = i;
    }
    u.slot = undefined;
    if (list.length === 0) this.ports.delete(port);
  }

  /** A 'bind' reservation for (addr, port), if any. */
  findBind(addr: number, port: number): PortUser | undefined {
    return this.users(port).find((u) => u.kind === 'bind' && u.addr === addr);
  }
}
