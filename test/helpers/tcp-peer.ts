/**
 * Scripted-peer harness for the TCP engine, in the style of smoltcp's socket tests and
 * lwIP's test_tcp.c: a TcpLayer on a ManualClock over a fake IpSender that captures every
 * segment it sends. The test plays the remote peer:
 *
 *   const h = new TcpHarness();
 *   const { conn } = h.established();                 // fixture: 3-way handshake done
 *   h.send(h.seg({ payload: 'abc' }));                // inject from the peer
 *   h.expectSent({ flags: 'ACK', ack: h.peerNxt + 3 }); // exactly one segment, matching
 *   h.expectNothing();
 *   h.advance(1000);
 *
 * Segment templates: h.seg(overrides) starts from the peer's current sequence numbers
 * (seq = peerNxt, ack = ourNxt, flags ACK, window 65535) and applies the overrides.
 */
import { expect } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { ErrnoName } from '../../src/core/errno.js';
import { SeededRng } from '../../src/core/rng.js';
import { seq, seqAdd, type Seq } from '../../src/core/seq.js';
import type { IpSendOptions, IpSender, IcmpErrorInfo } from '../../src/ip/types.js';
import type { TcpConnection, TcpConnectionHandler, TcpListener, TcpOptions } from '../../src/tcp/api.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import {
  decodeSegment,
  OptionsOut,
  Segment,
  setChecksum,
  TcpFlag,
  writeHeader,
  writeOptions,
  flagsToString,
} from '../../src/tcp/header.js';
import { TcpLayer } from '../../src/tcp/layer.js';

export const LOCAL = 0x0a4d0001; // 10.77.0.1, the stack under test
export const REMOTE = 0x0a4d0002; // 10.77.0.2, the scripted peer
export const LOCAL_PORT = 80;
export const REMOTE_PORT = 49152;
export const REMOTE_ISS = 1000;

/** A captured segment, decoded. */
export interface Seg {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: string;
  window: number;
  payload: Uint8Array;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: [number, number];
  sack?: [number, number][];
  df: boolean;
  bytes: Uint8Array;
}

/** What a test may ask for in a segment (all optional). */
export interface SegSpec {
  seq?: number;
  ack?: number;
  flags?: string;
  window?: number;
  payload?: Uint8Array | string;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: [number, number];
  sack?: [number, number][];
  srcPort?: number;
  dstPort?: number;
  urgent?: number;
}

export function flagBits(s: string): number {
  let f = 0;
  for (const part of s.split(',').map((x) => x.trim().toUpperCase())) {
    if (part === '') continue;
    const v = (TcpFlag as Record<string, number>)[part];
    if (v === undefined) throw new Error(`unknown flag ${part}`);
    f |= v;
  }
  return f;
}

export function bytes(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

/** Build a TCP segment (with a correct checksum) from a spec. */
export function buildSegment(spec: SegSpec & { seq: number; ack: number; flags: string }, src: number, dst: number): Uint8Array {
  const o = new OptionsOut();
  if (spec.mss !== undefined) o.mss = spec.mss;
  if (spec.wscale !== undefined) o.wscale = spec.wscale;
  if (spec.sackPermitted) o.sackPermitted = true;
  if (spec.ts !== undefined) {
    o.timestamp = true;
    o.tsVal = spec.ts[0];
    o.tsEcr = spec.ts[1];
  }
  if (spec.sack !== undefined) {
    o.sackCount = spec.sack.length;
    spec.sack.forEach(([s, e], i) => {
      o.sackBlocks[i]!.start = seq(s);
      o.sackBlocks[i]!.end = seq(e);
    });
  }
  const payload = bytes(spec.payload);
  const buf = new Uint8Array(60 + payload.length);
  const optLen = writeOptions(buf, 20, o);
  writeHeader(
    buf,
    {
      srcPort: spec.srcPort ?? REMOTE_PORT,
      dstPort: spec.dstPort ?? LOCAL_PORT,
      seq: seq(spec.seq),
      ack: seq(spec.ack),
      flags: flagBits(spec.flags),
      window: spec.window ?? 65535,
      urgent: spec.urgent ?? 0,
    },
    20 + optLen,
  );
  buf.set(payload, 20 + optLen);
  const len = 20 + optLen + payload.length;
  setChecksum(buf, len, src, dst);
  return buf.slice(0, len);
}

export function decodeCaptured(b: Uint8Array, src: number, dst: number, df: boolean): Seg {
  const s = new Segment();
  const err = decodeSegment(b, src, dst, s);
  if (err !== undefined) throw new Error(`stack sent a bad segment: ${err}`);
  const out: Seg = {
    src,
    dst,
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seq: s.seq,
    ack: s.ack,
    flags: flagsToString(s.flags),
    window: s.window,
    payload: s.payload.slice(),
    df,
    bytes: b,
  };
  if (s.mss >= 0) out.mss = s.mss;
  if (s.wscale >= 0) out.wscale = s.wscale;
  if (s.sackPermitted) out.sackPermitted = true;
  if (s.hasTimestamp) out.ts = [s.tsVal, s.tsEcr];
  if (s.sackCount > 0) out.sack = s.sacks().map((x) => [x.start, x.end]);
  return out;
}

/** The IpSender under the TcpLayer: captures every segment, can fail sends. */
export class CaptureIp implements IpSender {
  readonly localAddr: number;
  readonly scratch = new Uint8Array(65535);
  readonly sent: Seg[] = [];
  mtu = 1500;
  failWith: ErrnoName | undefined;

  constructor(localAddr: number) {
    this.localAddr = localAddr;
  }
  pathMtu(): number {
    return this.mtu;
  }
  send(dst: number, proto: number, len: number, opts?: IpSendOptions): ErrnoName | undefined {
    expect(proto).toBe(6);
    if (this.failWith !== undefined) return this.failWith;
    this.sent.push(decodeCaptured(this.scratch.slice(0, len), this.localAddr, dst, opts?.dontFragment === true));
    return undefined;
  }
}

/** A TcpConnectionHandler that records what happened. */
export class Recorder implements TcpConnectionHandler {
  readonly events: string[] = [];
  errors: ErrnoName[] = [];
  connected(): void {
    this.events.push('connected');
  }
  readable(): void {
    this.events.push('readable');
  }
  writable(): void {
    this.events.push('writable');
  }
  error(code: ErrnoName): void {
    this.events.push(`error:${code}`);
    this.errors.push(code);
  }
  closed(): void {
    this.events.push('closed');
  }
  take(): string[] {
    return this.events.splice(0);
  }
}

export interface PeerOptions {
  /**
   * Stack settings. rackTlp defaults to false here: the classic tests pin RFC 5681/6675
   * timing (DupThresh, RTO); the RACK-TLP tests turn it on.
   */
  config?: Partial<TcpConfig>;
  seed?: number;
  start?: number;
}

export interface SynOptions {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: [number, number];
  window?: number;
}

export class TcpHarness {
  readonly clock: ManualClock;
  readonly ip: CaptureIp;
  readonly layer: TcpLayer;
  readonly rec = new Recorder();
  /** The peer's next sequence number to send. */
  peerNxt = REMOTE_ISS + 1;
  /** Our next sequence number (what the peer acknowledges). */
  ourNxt = 0;
  /** Our ISS once known. */
  iss = 0;
  conn: TcpConnection | undefined;
  listener: TcpListener | undefined;

  constructor(opts: PeerOptions = {}) {
    this.clock = new ManualClock(opts.start ?? 0);
    this.ip = new CaptureIp(LOCAL);
    this.layer = new TcpLayer({ ip: this.ip, clock: this.clock, rng: new SeededRng(opts.seed ?? 7), config: { rackTlp: false, ...opts.config } });
  }

  /** A segment from the peer: the template (current seq/ack, ACK, window 65535) with overrides. */
  seg(o: SegSpec = {}): SegSpec & { seq: number; ack: number; flags: string } {
    return { seq: this.peerNxt, ack: this.ourNxt, flags: 'ACK', window: 65535, ...o };
  }

  /** Inject a segment from the peer (one receive batch). */
  send(spec: SegSpec & { seq: number; ack: number; flags: string }, from = REMOTE, to = LOCAL): void {
    this.sendRaw(buildSegment(spec, from, to), from, to);
  }

  sendRaw(b: Uint8Array, from = REMOTE, to = LOCAL): void {
    this.layer.receive({ src: from, dst: to, ttl: 64, tos: 0, datagram: b }, b);
    this.layer.batchEnd();
  }

  /** Several segments in one batch (batchEnd once). */
  sendBatch(specs: (SegSpec & { seq: number; ack: number; flags: string })[]): void {
    for (const s of specs) {
      const b = buildSegment(s, REMOTE, LOCAL);
      this.layer.receive({ src: REMOTE, dst: LOCAL, ttl: 64, tos: 0, datagram: b }, b);
    }
    this.layer.batchEnd();
  }

  icmp(err: Partial<IcmpErrorInfo> & { type: number; code: number; quoted: Uint8Array }): void {
    this.layer.receiveIcmpError({ errno: 'EHOSTUNREACH', nextHopMtu: 0, src: LOCAL, dst: REMOTE, ...err });
  }

  /** Everything sent since the last call. */
  drain(): Seg[] {
    return this.ip.sent.splice(0);
  }

  /** Exactly one segment was sent, matching `want`; returns it. */
  expectSent(want: SegSpec = {}): Seg {
    const got = this.drain();
    expect(got.map(describe), 'expected exactly one segment').toHaveLength(1);
    const s = got[0]!;
    matchSeg(s, want);
    return s;
  }

  /** The segments sent, in order, each matching. */
  expectSentAll(wants: SegSpec[]): Seg[] {
    const got = this.drain();
    expect(got.map(describe)).toHaveLength(wants.length);
    got.forEach((s, i) => matchSeg(s, wants[i]!));
    return got;
  }

  expectNothing(): void {
    expect(this.drain().map(describe)).toEqual([]);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Advance to an absolute time. */
  at(t: number): void {
    this.clock.advanceTo(t);
  }

  // ---------------------------------------------------------------- fixtures

  /** listen() on LOCAL:80. */
  listen(backlog = 8, opts?: TcpOptions): TcpListener {
    const l = this.layer.listen(LOCAL, LOCAL_PORT, backlog, opts);
    if (typeof l === 'string') throw new Error(l);
    this.listener = l;
    return l;
  }

  /** Peer SYN to the listener; returns our SYN-ACK. */
  peerSyn(o: SynOptions = { mss: 1460 }, srcPort = REMOTE_PORT): Seg {
    this.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', window: o.window ?? 65535, srcPort, ...synOpts(o) });
    const sa = this.expectSent({ flags: 'SYN,ACK', ack: REMOTE_ISS + 1 });
    this.iss = sa.seq;
    this.ourNxt = sa.seq + 1;
    this.peerNxt = REMOTE_ISS + 1;
    return sa;
  }

  /** Passive open completed and accepted: ESTABLISHED. */
  established(o: SynOptions = { mss: 1460 }, listenOpts?: TcpOptions): { conn: TcpConnection; synAck: Seg } {
    this.listen(8, listenOpts);
    const synAck = this.peerSyn(o);
    const ts = o.ts !== undefined ? { ts: [o.ts[0] + 1, synAck.ts?.[0] ?? 0] as [number, number] } : {};
    this.send(this.seg({ window: o.window ?? 65535, ...ts }));
    this.expectNothing();
    const conn = this.listener!.accept();
    if (conn === undefined) throw new Error('no connection accepted');
    conn.setHandler(this.rec);
    this.conn = conn;
    expect(conn.state).toBe('ESTABLISHED');
    return { conn, synAck };
  }

  /** Active open: connect() and return our SYN. */
  connect(opts?: TcpOptions, localPort = 50000): { conn: TcpConnection; syn: Seg } {
    const c = this.layer.connect(LOCAL, localPort, REMOTE, LOCAL_PORT, this.rec, opts);
    if (typeof c === 'string') throw new Error(c);
    this.conn = c;
    const syn = this.expectSent({ flags: 'SYN', seq: undefined });
    this.iss = syn.seq;
    this.ourNxt = syn.seq + 1;
    return { conn: c, syn };
  }

  /** Active open completed by a SYN-ACK from the peer. */
  establishedActive(o: SynOptions = { mss: 1460 }, opts?: TcpOptions): { conn: TcpConnection; syn: Seg } {
    const r = this.connect(opts);
    this.send({ seq: REMOTE_ISS, ack: this.ourNxt, flags: 'SYN,ACK', window: o.window ?? 65535, srcPort: LOCAL_PORT, dstPort: 50000, ...synOpts(o) }, REMOTE, LOCAL);
    this.peerNxt = REMOTE_ISS + 1;
    this.expectSent({ flags: 'ACK', seq: this.ourNxt, ack: this.peerNxt });
    expect(r.conn.state).toBe('ESTABLISHED');
    return r;
  }

  /** ESTABLISHED, then our close(): FIN-WAIT-1 with our FIN sent (not yet ACKed). */
  finWait1(): TcpConnection {
    const { conn } = this.established();
    conn.close();
    this.expectSent({ flags: 'FIN,ACK', seq: this.ourNxt, ack: this.peerNxt });
    expect(conn.state).toBe('FIN-WAIT-1');
    return conn;
  }

  /** FIN-WAIT-1 and the peer ACKed our FIN: FIN-WAIT-2. */
  finWait2(): TcpConnection {
    const conn = this.finWait1();
    this.ourNxt += 1;
    this.send(this.seg());
    this.expectNothing();
    expect(conn.state).toBe('FIN-WAIT-2');
    return conn;
  }

  /** ESTABLISHED and the peer's FIN arrived: CLOSE-WAIT. */
  closeWait(): TcpConnection {
    const { conn } = this.established();
    this.send(this.seg({ flags: 'FIN,ACK' }));
    this.peerNxt += 1;
    this.expectSent({ flags: 'ACK', ack: this.peerNxt });
    expect(conn.state).toBe('CLOSE-WAIT');
    return conn;
  }

  /** CLOSE-WAIT and our close(): LAST-ACK. */
  lastAck(): TcpConnection {
    const conn = this.closeWait();
    conn.close();
    this.expectSent({ flags: 'FIN,ACK', seq: this.ourNxt, ack: this.peerNxt });
    expect(conn.state).toBe('LAST-ACK');
    return conn;
  }

  /** FIN-WAIT-1 and the peer's FIN (not acking ours): CLOSING. */
  closing(): TcpConnection {
    const conn = this.finWait1();
    this.send(this.seg({ flags: 'FIN,ACK' }));
    this.peerNxt += 1;
    this.expectSent({ flags: 'ACK', ack: this.peerNxt });
    expect(conn.state).toBe('CLOSING');
    return conn;
  }

  /** FIN-WAIT-2 and the peer's FIN: TIME-WAIT. */
  timeWait(): TcpConnection {
    const conn = this.finWait2();
    this.send(this.seg({ flags: 'FIN,ACK' }));
    this.peerNxt += 1;
    this.expectSent({ flags: 'ACK', ack: this.peerNxt });
    expect(conn.state).toBe('TIME-WAIT');
    return conn;
  }
}

function synOpts(o: SynOptions): SegSpec {
  const r: SegSpec = {};
  if (o.mss !== undefined) r.mss = o.mss;
  if (o.wscale !== undefined) r.wscale = o.wscale;
  if (o.sackPermitted) r.sackPermitted = true;
  if (o.ts !== undefined) r.ts = o.ts;
  return r;
}

export function describe(s: Seg): string {
  const opts: string[] = [];
  if (s.mss !== undefined) opts.push(`mss=${s.mss}`);
  if (s.wscale !== undefined) opts.push(`ws=${s.wscale}`);
  if (s.sackPermitted) opts.push('sackOK');
  if (s.ts) opts.push(`ts=${s.ts[0]}/${s.ts[1]}`);
  if (s.sack) opts.push(`sack=${s.sack.map(([a, b]) => `${a}-${b}`).join(',')}`);
  return `[${s.flags}] seq=${s.seq} ack=${s.ack} win=${s.window} len=${s.payload.length}${opts.length ? ' ' + opts.join(' ') : ''}`;
}

/** Compare the fields `want` names (flags exactly, payload as bytes). */
export function matchSeg(s: Seg, want: SegSpec): void {
  const d = describe(s);
  if (want.flags !== undefined) expect(flagBits(s.flags), `flags of ${d}`).toBe(flagBits(want.flags));
  if (want.seq !== undefined) expect(s.seq, `seq of ${d}`).toBe(want.seq >>> 0);
  if (want.ack !== undefined) expect(s.ack, `ack of ${d}`).toBe(want.ack >>> 0);
  if (want.window !== undefined) expect(s.window, `window of ${d}`).toBe(want.window);
  if (want.payload !== undefined) expect(Buffer.from(s.payload).toString('latin1'), `payload of ${d}`).toBe(Buffer.from(bytes(want.payload)).toString('latin1'));
  if (want.mss !== undefined) expect(s.mss, `mss of ${d}`).toBe(want.mss);
  if (want.wscale !== undefined) expect(s.wscale, `wscale of ${d}`).toBe(want.wscale);
  if (want.sackPermitted !== undefined) expect(s.sackPermitted ?? false, `sackPermitted of ${d}`).toBe(want.sackPermitted);
  if (want.ts !== undefined) expect(s.ts, `ts of ${d}`).toEqual(want.ts);
  if (want.sack !== undefined) expect(s.sack ?? [], `sack of ${d}`).toEqual(want.sack.map(([a, b]) => [a >>> 0, b >>> 0]));
}

export function seqOf(n: number): Seq {
  return seqAdd(seq(n), 0);
}
