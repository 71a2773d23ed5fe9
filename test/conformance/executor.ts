/**
 * The scenario executor, shared by every runner. It walks the script in order:
 *  - inbound packet: wait until its time, check nothing unexpected was sent meanwhile, inject;
 *  - outbound packet: wait for the next frame the SUT sends, check it is on time and matches;
 *  - syscall: wait until its time and for earlier blocking calls, then issue it; its result is
 *    checked when it returns (a blocking call returns later, while the script goes on).
 * Relative times (`+t`) count from the previous event's actual time, so lateness never
 * accumulates; an outbound packet may be `tolerance` early or late.
 */
import { Errno } from '../../src/core/errno.js';
import type { Arg, Script, ScriptEvent, SyscallSpec } from './script.js';
import { PEER_IP, PEER_PORT, SUT_PORT, patternByte, type Runner, type SysRequest, type SysResult } from './runner.js';
import { Mismatch, PacketState, describe } from './packets.js';
import { buildArp, decodeFrame, parseIpv4, parseMac, type Decoded } from './wire.js';
import { PEER_MAC } from './runner.js';

export interface FrameRecord {
  t: number;
  dir: 'in' | 'out';
  frame: Uint8Array;
}

export interface RunResult {
  ok: boolean;
  error?: string;
  /** True when the failure was about timing only (a frame late/early, a call late). */
  timing: boolean;
  frames: FrameRecord[];
  trace: string[];
  durationMs: number;
}

export interface RunOptions {
  /** Allowed error on every expected time (ms). */
  toleranceMs?: number;
  /** Longest wait for a `*` event or a blocking call (ms). */
  maxWaitMs?: number;
  /** Quiet time after the last event during which the SUT must send nothing unexpected. */
  settleMs?: number;
}

class Failure extends Error {
  readonly timing: boolean;
  constructor(msg: string, timing = false) {
    super(msg);
    this.timing = timing;
  }
}

interface Queued {
  frame: Uint8Array;
  t: number;
  d: Decoded;
}

interface PendingCall {
  ev: Extract<ScriptEvent, { kind: 'syscall' }>;
  startedAt: number;
  expectedEnd: number | undefined;
  result?: SysResult;
  doneAt?: number;
}

const O_FLAGS: Record<string, number> = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_NONBLOCK: 0x800 };
const peerIp = parseIpv4(PEER_IP);

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(4)}s`;
}

export class Executor {
  private readonly script: Script;
  private readonly runner: Runner;
  private readonly tol: number;
  private readonly maxWait: number;
  private readonly settle: number;
  private readonly state: PacketState;
  private readonly autoArp: boolean;
  private readonly outQ: Queued[] = [];
  readonly frames: FrameRecord[] = [];
  readonly trace: string[] = [];
  /** script fd -> runner handle */
  private readonly fds = new Map<number, number>();
  private readonly readOffsets = new Map<number, number>();
  private readonly pending: PendingCall[] = [];
  private t0 = 0;

  constructor(script: Script, runner: Runner, opts: RunOptions = {}) {
    this.script = script;
    this.runner = runner;
    this.tol = Number(script.options.tolerance_ms ?? opts.toleranceMs ?? 25);
    this.maxWait = Number(script.options.timeout_s ?? 0) * 1000 || (opts.maxWaitMs ?? 5000);
    this.settle = opts.settleMs ?? this.tol;
    this.state = new PacketState(Number(script.options.peer_isn ?? 0));
    const hasArpOut = script.events.some((e) => e.kind === 'packet' && e.dir === 'out' && e.pkt.proto === 'arp' && e.pkt.op === 'request');
    this.autoArp = script.options.auto_arp !== undefined ? script.options.auto_arp !== '0' : !hasArpOut;
  }

  private log(msg: string): void {
    this.trace.push(`${fmt(this.runner.now() - this.t0).padStart(9)} ${msg}`);
  }

  private onOutbound(frame: Uint8Array, t: number): void {
    this.frames.push({ t, dir: 'out', frame });
    const d = decodeFrame(frame);
    // IPv6, LLDP... and IPv4 multicast/broadcast are not part of any scenario.
    if (d.kind === 'other') return;
    if ((d.kind === 'tcp' || d.kind === 'udp' || d.kind === 'icmp' || d.kind === 'ipv4-other') && d.ip.dst !== peerIp) return;
    // Gratuitous ARP (an announcement, RFC 5227 section 3) is not part of any scenario.
    if (d.kind === 'arp' && d.arp.spa === d.arp.tpa) return;
    // The scripted peer answers ARP for itself unless the scenario is about ARP.
    if (d.kind === 'arp' && d.arp.op === 1 && d.arp.tpa === peerIp && this.autoArp) {
      const mac = parseMac(PEER_MAC);
      const reply = buildArp({ srcMac: mac, dstMac: d.arp.sha }, { op: 2, sha: mac, spa: peerIp, tha: d.arp.sha, tpa: d.arp.spa });
      this.log(`> ${describe(d, this.state, 'out')}   (auto-answered)`);
      this.inject(reply);
      return;
    }
    this.outQ.push({ frame, t, d });
  }

  private inject(frame: Uint8Array): void {
    this.frames.push({ t: this.runner.now(), dir: 'in', frame });
    this.runner.inject(frame);
  }

  async run(): Promise<RunResult> {
    const started = performance.now();
    let error: string | undefined;
    let timing = false;
    try {
      await this.runner.start((f, t) => this.onOutbound(f, t));
      this.t0 = this.runner.now();
      await this.execute();
    } catch (e) {
      if (e instanceof Failure) {
        error = e.message;
        timing = e.timing;
      } else if (e instanceof Mismatch) {
        error = e.message;
      } else {
        error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      }
      this.log(`FAIL ${error}`);
    }
    return { ok: error === undefined, error, timing, frames: this.frames, trace: this.trace, durationMs: performance.now() - started };
  }

  private async execute(): Promise<void> {
    let prevActual = this.runner.now();
    let prevScript = 0;
    for (const ev of this.script.events) {
      const where = `line ${ev.line} '${ev.text}'`;
      // Window of acceptable times for this event, in runner time.
      let lo: number;
      let hi: number;
      let scriptLo: number;
      if (ev.time.kind === 'any') {
        lo = -Infinity;
        hi = prevActual + this.maxWait;
        scriptLo = prevScript;
      } else {
        const dlo = ev.time.kind === 'rel' ? ev.time.lo : ev.time.lo - prevScript;
        const dhi = ev.time.kind === 'rel' ? ev.time.hi : ev.time.hi - prevScript;
        lo = prevActual + dlo;
        hi = prevActual + dhi;
        scriptLo = prevScript + dlo;
      }
      try {
        this.finishCompleted();
        if (ev.kind === 'packet' && ev.dir === 'in') {
          await this.runner.wait(lo, () => false);
          this.checkNothingSent(`before ${where}`);
          const frame = this.state.build(ev.flow, ev.pkt);
          this.log(`< ${describe(decodeFrame(frame), this.state, 'in')}`);
          this.inject(frame);
          prevActual = Math.max(lo, this.runner.now());
          prevScript = scriptLo;
        } else if (ev.kind === 'packet') {
          const deadline = hi + this.tol;
          let q: Queued | undefined;
          let got = '';
          for (;;) {
            await this.runner.wait(deadline, () => this.outQ.length > 0);
            q = this.outQ.shift();
            if (q === undefined) {
              throw new Failure(`${where}: expected packet not sent (waited until ${fmt(deadline - this.t0)})`, true);
            }
            got = describe(q.d, this.state, 'out');
            try {
              this.state.check(ev.flow, ev.pkt, q.d);
              this.state.commitCaptures();
              break;
            } catch (e) {
              this.state.discardCaptures();
              if (!(e instanceof Mismatch)) throw e;
              if (this.state.isWindowUpdate(q.d)) {
                this.log(`> ${got}   (window update: tolerated)`);
                this.state.noteSent(q.d);
                continue;
              }
              throw new Failure(`${where}: got '${got}' at ${fmt(q.t - this.t0)}: ${e.message}`);
            }
          }
          this.state.noteSent(q.d);
          this.log(`> ${got}`);
          if (q.t < lo - this.tol) {
            throw new Failure(`${where}: sent ${(lo - q.t).toFixed(1)} ms too early (at ${fmt(q.t - this.t0)}, expected ${fmt(lo - this.t0)}..${fmt(hi - this.t0)})`, true);
          }
          if (q.t > hi + this.tol) {
            throw new Failure(`${where}: sent ${(q.t - hi).toFixed(1)} ms too late (at ${fmt(q.t - this.t0)}, expected ${fmt(lo - this.t0)}..${fmt(hi - this.t0)})`, true);
          }
          prevScript = ev.time.kind === 'any' ? prevScript + (q.t - prevActual) : scriptLo + Math.max(0, q.t - lo);
          prevActual = q.t;
        } else {
          await this.runner.wait(lo, () => false);
          await this.awaitPending(where);
          this.checkNothingSent(`before ${where}`);
          const startedAt = this.runner.now();
          this.startCall(ev, startedAt, scriptLo);
          prevActual = Math.max(lo, startedAt);
          prevScript = scriptLo;
        }
      } catch (e) {
        if (e instanceof Mismatch) throw new Failure(`${where}: ${e.message}`);
        throw e;
      }
    }
    await this.awaitPending('the end of the script');
    await this.runner.wait(this.runner.now() + this.settle, () => this.outQ.length > 0);
    this.checkNothingSent('after the last event');
  }

  private checkNothingSent(when: string): void {
    while (this.outQ[0] !== undefined && this.state.isWindowUpdate(this.outQ[0].d)) {
      const w = this.outQ.shift()!;
      this.trace.push(`${fmt(w.t - this.t0).padStart(9)} > ${describe(w.d, this.state, 'out')}   (window update: tolerated)`);
      this.state.noteSent(w.d);
    }
    const q = this.outQ[0];
    if (q !== undefined) {
      throw new Failure(`unexpected packet ${when}: '${describe(q.d, this.state, 'out')}' at ${fmt(q.t - this.t0)}`);
    }
  }

  // ------------------------------------------------------------ syscalls

  private async awaitPending(where: string): Promise<void> {
    const deadline = this.runner.now() + this.maxWait;
    await this.runner.wait(deadline, () => this.pending.every((p) => p.result !== undefined));
    const stuck = this.pending.find((p) => p.result === undefined);
    if (stuck !== undefined) {
      throw new Failure(`line ${stuck.ev.line} '${stuck.ev.text}' still blocked at ${where} (waited ${this.maxWait} ms)`, true);
    }
    for (const p of this.pending.splice(0)) this.finishCall(p);
  }

  /** Check calls that already returned, in issue order, so a wrong result is reported at once. */
  private finishCompleted(): void {
    while (this.pending.length > 0 && this.pending[0]!.result !== undefined) this.finishCall(this.pending.shift()!);
  }

  private startCall(ev: Extract<ScriptEvent, { kind: 'syscall' }>, startedAt: number, scriptT: number): void {
    const req = this.request(ev.call, ev.line);
    let expectedEnd: number | undefined;
    if (ev.end !== undefined) expectedEnd = startedAt + (ev.end.kind === 'rel' ? ev.end.t : ev.end.t - scriptT);
    const p: PendingCall = { ev, startedAt, expectedEnd };
    this.pending.push(p);
    this.log(`  ${ev.text.replace(/^\S+\s+/, '').replace(/\s*=.*$/, '')} issued`);
    this.runner.call(req).then((r) => {
      p.result = r;
      p.doneAt = this.runner.now();
      this.log(`  ${ev.call.name} returned ${r.ret === -1 ? `-1 ${r.errno ?? '?'}` : String(r.ret)} after ${(p.doneAt - startedAt).toFixed(1)} ms`);
      this.runner.kick();
    }, (e: unknown) => {
      p.result = { ret: -1, errno: `EHARNESS (${String(e)})` };
      p.doneAt = this.runner.now();
      this.runner.kick();
    });
  }

  private finishCall(p: PendingCall): void {
    const { ev } = p;
    const r = p.result!;
    const c = ev.call;
    const where = `line ${ev.line} '${ev.text}'`;
    const got = r.ret === -1 ? `-1 ${r.errno ?? '?'}` : String(r.ret);
    if (r.errno?.startsWith('EHARNESS')) throw new Failure(`${where}: harness error ${r.errno}`);
    if (c.ret === -1) {
      if (r.ret !== -1 || r.errno !== c.errno) throw new Failure(`${where}: returned ${got}, expected -1 ${c.errno}`);
    } else if (c.name === 'socket' || c.name === 'accept') {
      if (r.ret < 0) throw new Failure(`${where}: returned ${got}, expected ${c.ret}`);
      const fd = this.lowestFreeFd();
      this.fds.set(fd, r.ret);
      if (fd !== c.ret) throw new Failure(`${where}: the new descriptor is ${fd} (lowest free), the script says ${c.ret}`);
    } else if (r.ret !== c.ret) {
      throw new Failure(`${where}: returned ${got}, expected ${c.ret}`);
    }
    if (c.name === 'close' && r.ret === 0) this.fds.delete(this.fdArg(c, ev.line));
    if ((c.name === 'read' || c.name === 'recv') && r.ret > 0 && r.data !== undefined) {
      const fd = this.fdArg(c, ev.line);
      const off = this.readOffsets.get(fd) ?? 0;
      for (let i = 0; i < r.data.length; i++) {
        if (r.data[i] !== patternByte(off + i)) throw new Failure(`${where}: byte ${off + i} of the stream is not what the peer sent`);
      }
      this.readOffsets.set(fd, off + r.data.length);
    }
    if (c.name === 'getsockopt') {
      const want = c.args[3];
      if (want?.kind === 'list' && want.items[0] !== undefined) {
        const w = this.constArg(want.items[0], ev.line);
        if (r.value !== w) throw new Failure(`${where}: value ${String(r.value)}, expected ${String(w)}`);
      }
    }
    if (p.expectedEnd !== undefined) {
      const t = p.doneAt!;
      if (t < p.expectedEnd - this.tol || t > p.expectedEnd + this.tol) {
        throw new Failure(`${where}: returned at ${fmt(t - this.t0)}, expected ${fmt(p.expectedEnd - this.t0)} (±${this.tol} ms)`, true);
      }
    }
  }

  private lowestFreeFd(): number {
    let fd = 3;
    while (this.fds.has(fd)) fd++;
    return fd;
  }

  private fdArg(c: SyscallSpec, line: number): number {
    const a = c.args[0];
    if (a?.kind !== 'num') throw new Failure(`line ${line}: ${c.name} needs a descriptor number first`);
    return a.n;
  }

  private handle(c: SyscallSpec, line: number): number {
    const fd = this.fdArg(c, line);
    const h = this.fds.get(fd);
    // An unknown fd is passed through as an impossible handle so the SUT reports EBADF.
    return h ?? -1000 - fd;
  }

  private constArg(a: Arg, line: number): number {
    if (a.kind === 'num') return a.n;
    if (a.kind === 'ident') {
      let v = 0;
      for (const n of a.names) {
        const x = O_FLAGS[n] ?? (Errno as Record<string, number>)[n];
        if (x === undefined) throw new Failure(`line ${line}: unknown constant ${n}`);
        v |= x;
      }
      return v;
    }
    throw new Failure(`line ${line}: expected a number or constant`);
  }

  private ident(a: Arg | undefined, line: number, what: string): string {
    if (a?.kind !== 'ident' || a.names.length !== 1) throw new Failure(`line ${line}: expected ${what}`);
    return a.names[0]!;
  }

  private numArg(a: Arg | undefined, line: number, what: string): number {
    if (a?.kind !== 'num') throw new Failure(`line ${line}: expected ${what}`);
    return a.n;
  }

  private request(c: SyscallSpec, line: number): SysRequest {
    const a = c.args;
    switch (c.name) {
      case 'socket': {
        const t = a[1]?.kind === 'ident' ? a[1].names[0] : undefined;
        if (t !== 'SOCK_STREAM' && t !== 'SOCK_DGRAM') throw new Failure(`line ${line}: socket type must be SOCK_STREAM or SOCK_DGRAM`);
        return { op: 'socket', type: t === 'SOCK_STREAM' ? 'stream' : 'dgram' };
      }
      case 'bind': {
        const ad = a[1];
        return ad?.kind === 'addr'
          ? { op: 'bind', h: this.handle(c, line), addr: ad.addr, port: ad.port }
          : { op: 'bind', h: this.handle(c, line), addr: '0.0.0.0', port: SUT_PORT };
      }
      case 'listen':
        return { op: 'listen', h: this.handle(c, line), backlog: this.numArg(a[1], line, 'a backlog') };
      case 'accept':
        return { op: 'accept', h: this.handle(c, line) };
      case 'connect': {
        const ad = a[1];
        return ad?.kind === 'addr'
          ? { op: 'connect', h: this.handle(c, line), addr: ad.addr, port: ad.port }
          : { op: 'connect', h: this.handle(c, line), addr: PEER_IP, port: PEER_PORT };
      }
      case 'read':
      case 'recv':
        return { op: 'read', h: this.handle(c, line), len: this.numArg(a[2], line, 'a length') };
      case 'write':
      case 'send':
        return { op: 'write', h: this.handle(c, line), len: this.numArg(a[2], line, 'a length') };
      case 'sendto': {
        const ad = a[4];
        return {
          op: 'sendto', h: this.handle(c, line), len: this.numArg(a[2], line, 'a length'),
          addr: ad?.kind === 'addr' ? ad.addr : PEER_IP, port: ad?.kind === 'addr' ? ad.port : PEER_PORT,
        };
      }
      case 'shutdown': {
        const how = this.ident(a[1], line, 'SHUT_RD, SHUT_WR or SHUT_RDWR');
        if (how !== 'SHUT_RD' && how !== 'SHUT_WR' && how !== 'SHUT_RDWR') throw new Failure(`line ${line}: bad shutdown mode ${how}`);
        return { op: 'shutdown', h: this.handle(c, line), how };
      }
      case 'close':
        return { op: 'close', h: this.handle(c, line) };
      case 'setsockopt': {
        const level = this.ident(a[1], line, 'a level');
        const name = this.ident(a[2], line, 'an option name');
        const v = a[3];
        let value: number | string | { onoff: number; linger: number };
        if (v?.kind === 'list' && v.items[0] !== undefined) value = this.constArg(v.items[0], line);
        else if (v?.kind === 'num') value = v.n;
        else if (v?.kind === 'str') value = v.s;
        else if (v?.kind === 'struct') {
          const on = v.fields.onoff ?? v.fields.l_onoff;
          const lg = v.fields.linger ?? v.fields.l_linger;
          value = { onoff: on ? this.constArg(on, line) : 0, linger: lg ? this.constArg(lg, line) : 0 };
        } else throw new Failure(`line ${line}: bad setsockopt value`);
        return { op: 'setsockopt', h: this.handle(c, line), level, name, value };
      }
      case 'getsockopt':
        return { op: 'getsockopt', h: this.handle(c, line), level: this.ident(a[1], line, 'a level'), name: this.ident(a[2], line, 'an option name') };
      case 'fcntl': {
        const cmd = this.ident(a[1], line, 'F_SETFL or F_GETFL');
        if (cmd === 'F_SETFL') return { op: 'fcntl', h: this.handle(c, line), cmd, flags: this.constArg(a[2] ?? { kind: 'num', n: 0 }, line) };
        if (cmd === 'F_GETFL') return { op: 'fcntl', h: this.handle(c, line), cmd };
        throw new Failure(`line ${line}: unsupported fcntl ${cmd}`);
      }
      default:
        throw new Failure(`line ${line}: unsupported syscall ${c.name}`);
    }
  }
}

export async function runScenario(script: Script, runner: Runner, opts?: RunOptions): Promise<RunResult> {
  return new Executor(script, runner, opts).run();
}
