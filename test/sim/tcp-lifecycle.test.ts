/**
 * Every way a connection can end, many times over, on a lossy path; then the tables must be
 * empty: no connection (TIME-WAIT included), no port reservation, no armed timer anywhere,
 * CurrEstab back to 0. Every connection the applications saw reports closed() exactly once,
 * last, after at most one error().
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import type { TcpConnection, TcpConnectionHandler, TcpListener, TcpOptions } from '../../src/tcp/api.js';
import type { Connection } from '../../src/tcp/connection.js';
import { CLIENT, SERVER, TcpSim } from '../helpers/tcp-sim.js';

const KINDS = [
  'client-first', // client writes and closes; the server closes on EOF (client TIME-WAIT)
  'server-first', // server writes and closes; the client closes on EOF (server TIME-WAIT)
  'simultaneous', // both close at once (FINs may cross: CLOSING)
  'half-close', // client shutdown('wr'); server answers, shuts down; both close
  'client-abort', // client abort(): RST
  'server-abort', // server abort() on accept: ECONNRESET at the client
  'client-unread', // client closes with unread data: RST (TCPAbortOnClose)
  'server-unread', // server closes with unread data
  'syn-sent-close', // close() in SYN-SENT
  'refused', // nobody listens: ECONNREFUSED
  'never-accepted', // a listener that never accepts, closed at the end: children reset
] as const;
type Kind = (typeof KINDS)[number];

/** Records callbacks and checks their order: ... [error] closed, nothing after closed. */
class Watch implements TcpConnectionHandler {
  readonly events: string[] = [];
  onData: () => void = () => {};
  onConnected: () => void = () => {};
  label: string;
  conn: TcpConnection | undefined;
  /** Timers still armed when closed() was reported (must be none: "turn off the other timers"). */
  armedAtClose: string[] = [];
  constructor(label: string) {
    this.label = label;
  }
  connected(): void {
    this.events.push('connected');
    this.onConnected();
  }
  readable(): void {
    this.events.push('readable');
    this.onData();
  }
  writable(): void {
    this.events.push('writable');
    this.onData();
  }
  error(code: string): void {
    this.events.push(`error:${code}`);
  }
  closed(): void {
    this.events.push('closed');
    const c = this.conn as Connection | undefined;
    if (c === undefined) return;
    if (c.state !== 'CLOSED') this.armedAtClose.push(`state ${c.state}`);
    const timers: [string, { readonly deadline: number | undefined } | undefined][] = [
      ['rtx', c.rtxTimer],
      ['delack', c.delackTimer],
      ['keep', c.keepTimer],
      // The clock Timer the three share, where the engine has one.
      ['clock', (c as unknown as { clockTimer?: { readonly deadline: number | undefined } }).clockTimer],
    ];
    for (const [name, t] of timers) if (t?.deadline !== undefined) this.armedAtClose.push(name);
  }
  problems(): string[] {
    const p: string[] = [];
    const closedAt = this.events.indexOf('closed');
    const errors = this.events.filter((e) => e.startsWith('error:'));
    if (closedAt < 0) p.push(`${this.label}: never closed (${this.events.join(',')})`);
    else if (closedAt !== this.events.length - 1) p.push(`${this.label}: events after closed (${this.events.join(',')})`);
    if (this.events.filter((e) => e === 'closed').length > 1) p.push(`${this.label}: closed twice`);
    if (this.armedAtClose.length > 0) p.push(`${this.label}: at closed(): ${this.armedAtClose.join(',')}`);
    if (errors.length > 1) p.push(`${this.label}: ${errors.length} errors`);
    if (errors.length === 1 && this.events.indexOf(errors[0]!) !== closedAt - 1) p.push(`${this.label}: error not right before closed`);
    return p;
  }
}

function drain(c: TcpConnection): number {
  const b = new Uint8Array(4096);
  let n = 0;
  for (let k = c.read(b); k > 0; k = c.read(b)) n += k;
  return n;
}

function runLifecycle(seed: number, perKind: number, maxTimeWait = 32768): { problems: string[]; sim: TcpSim; watches: Watch[] } {
  const sim = new TcpSim({
    seed,
    path: { delayMs: 3, jitterMs: 2, loss: 0.03, reorder: 0.05, reorderMs: 4, duplicate: 0.02 },
    config: { minRto: 200, retries2: 8, synRetries: 4, synAckRetries: 3, finTimeout: 20_000, maxTimeWait },
  });
  // Keepalive finds the half-open connections a lost RST leaves behind.
  const opts: TcpOptions = { keepAlive: true, keepIdle: 30, keepInterval: 2, keepCount: 3, recvBufferSize: 16_384, sendBufferSize: 16_384 };
  const watches: Watch[] = [];
  const kindOf = new Map<number, Kind>();
  const listen = (port: number): TcpListener => {
    const l = sim.server.listen(SERVER, port, 64, opts);
    if (typeof l === 'string') throw new Error(l);
    return l;
  };
  const l80 = listen(80);
  const l82 = listen(82); // never accepts
  l80.setHandler({
    acceptable: () => {
      for (let s = l80.accept(); s !== undefined; s = l80.accept()) serve(s, kindOf.get(s.remotePort)!);
    },
  });

  function serve(s: TcpConnection, kind: Kind): void {
    const w = new Watch(`server ${kind} :${s.remotePort}`);
    watches.push(w);
    w.conn = s;
    s.setHandler(w);
    const reply = new Uint8Array(700).fill(7);
    let replied = false;
    w.onData = () => {
      if (s.state === 'CLOSED') return;
      if (kind === 'server-unread') {
        if (s.readableLength > 0) s.close();
        return;
      }
      drain(s);
      if (kind === 'half-close' && s.eof && !replied) {
        replied = true;
        s.write(reply);
        s.shutdown('wr');
      }
      if (s.eof) s.close();
    };
    switch (kind) {
      case 'server-first':
        s.write(reply);
        s.close();
        break;
      case 'simultaneous':
        s.close();
        break;
      case 'server-abort':
        s.abort();
        break;
      case 'client-unread':
        s.write(reply);
        break;
      default:
        break;
    }
    w.onData();
  }

  function open(kind: Kind): void {
    const port = kind === 'refused' ? 81 : kind === 'never-accepted' ? 82 : 80;
    const w = new Watch(`client ${kind}`);
    watches.push(w);
    const c = sim.client.connect(CLIENT, 0, SERVER, port, w, opts);
    if (typeof c === 'string') throw new Error(`connect: ${c}`);
    w.label = `client ${kind} :${c.localPort}`;
    w.conn = c;
    kindOf.set(c.localPort, kind);
    const data = new Uint8Array(2000).fill(3);
    w.onConnected = () => {
      switch (kind) {
        case 'client-first':
          c.write(data);
          c.close();
          break;
        case 'simultaneous':
          c.close();
          break;
        case 'half-close':
        case 'server-unread':
          c.write(data);
          if (kind === 'half-close') c.shutdown('wr');
          break;
        case 'client-abort':
          c.write(data);
          c.abort();
          break;
        default:
          break;
      }
    };
    w.onData = () => {
      if (c.state === 'CLOSED') return;
      if (kind === 'client-unread') {
        if (c.readableLength > 0) c.close();
        return;
      }
      drain(c);
      if (c.eof) c.close();
    };
    if (kind === 'syn-sent-close') c.close();
  }

  const rng = new SeededRng(seed);
  const order: Kind[] = [];
  for (const k of KINDS) for (let i = 0; i < perKind; i++) order.push(k);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const k of order) {
    open(k);
    sim.advance(rng.nextU32() % 20);
  }
  sim.advance(60_000);
  // The never-accepting listener goes away (its children are reset), then the other one.
  l82.close();
  sim.advance(60_000);
  l80.close();
  // Let every timer run out: TIME-WAIT, orphaned FIN-WAIT-2, retransmissions, keepalives.
  for (let steps = 0; sim.clock.nextDeadline() !== undefined; steps++) {
    if (steps > 5_000_000 || sim.clock.now() > 24 * 3600_000) throw new Error(`seed ${seed}: timers never stop`);
    sim.clock.step();
  }
  const problems: string[] = [];
  for (const w of watches) problems.push(...w.problems());
  return { problems, sim, watches };
}

describe('connection lifecycle: no leaks after every kind of close', () => {
  for (const [seed, maxTw] of [[1, 32768], [2, 32768], [3, 4]] as const) {
    it(`seed ${seed}: ${KINDS.length} kinds x 12, lossy path, maxTimeWait ${maxTw}; tables and timers empty at the end`, () => {
      const { problems, sim, watches } = runLifecycle(seed, 12, maxTw);
      expect(problems).toEqual([]);
      const empty = { connections: 0, timeWait: 0, listeners: 0, ports: 0, portHolders: 0, pendingAcks: 0 };
      expect(sim.client.diagnostics()).toEqual(empty);
      expect(sim.server.diagnostics()).toEqual(empty);
      expect(sim.client.stats().CurrEstab).toBe(0);
      expect(sim.server.stats().CurrEstab).toBe(0);
      expect(sim.clock.nextDeadline()).toBeUndefined();
      // The scenarios really happened: refusals, resets, TIME-WAITs on both sides.
      const clientErrors = watches.filter((w) => w.label.startsWith('client')).flatMap((w) => w.events.filter((e) => e.startsWith('error:')));
      expect(clientErrors.filter((e) => e === 'error:ECONNREFUSED').length).toBeGreaterThanOrEqual(12);
      expect(clientErrors.filter((e) => e === 'error:ECONNRESET').length).toBeGreaterThanOrEqual(12);
      expect(watches.filter((w) => w.label.startsWith('server')).length).toBeGreaterThanOrEqual(7 * 12);
      const overflow = sim.client.stats().TCPTimeWaitOverflow + sim.server.stats().TCPTimeWaitOverflow;
      if (maxTw < 10) expect(overflow).toBeGreaterThan(0);
      else expect(overflow).toBe(0);
    });
  }
});
