/**
 * Runner B: our stack, on virtual time (ManualClock), over an in-memory link, driven
 * through our BSD socket API (src/socket). The executor's peer sits on the far end of the
 * link. Time only moves inside wait(): the clock steps from timer to timer and every
 * promise continuation runs between steps, so a 3-second RTO scenario takes milliseconds.
 *
 * Everything from src/ is imported dynamically: until the TCP engine, the stack and the
 * socket API all exist, available() says why and the suite skips this runner.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../../src/core/clock.js';
import { SeededRng } from '../../../src/core/rng.js';
import type { Link } from '../../../src/link/link.js';
import type { Script } from '../script.js';
import {
  SUT_IP, SUT_MAC, pattern,
  type Runner, type RunnerFactory, type SysRequest, type SysResult,
} from '../runner.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const REQUIRED = ['src/stack.ts', 'src/tcp/layer.ts', 'src/socket/bsd.ts', 'src/link/memory.ts'];

/** The parts of src/ this runner uses, loaded at run time. */
interface StackModules {
  Stack: new (o: Record<string, unknown>) => { tcp: unknown; udp: unknown; close(): void };
  SocketApi: new (o: Record<string, unknown>) => SocketApiLike;
  memoryLinkPair: (clock: ManualClock, o?: Record<string, unknown>) => [Link, Link];
  C: Record<string, number>;
}

interface SocketApiLike {
  socket(domain: number, type: number, protocol?: number): number;
  bind(fd: number, a: { addr: string; port: number }): void;
  listen(fd: number, backlog: number): void;
  accept(fd: number): Promise<number>;
  connect(fd: number, a: { addr: string; port: number }): Promise<void>;
  read(fd: number, buf: Uint8Array, len?: number): Promise<number>;
  write(fd: number, buf: Uint8Array, len?: number): Promise<number>;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, a: { addr: string; port: number }): Promise<number>;
  shutdown(fd: number, how: number): void;
  close(fd: number): void;
  setsockopt(fd: number, level: number, name: number, value: unknown): void;
  getsockopt(fd: number, level: number, name: number): unknown;
  fcntl(fd: number, cmd: number, arg?: number): number;
}

let modules: Promise<StackModules> | undefined;

async function loadModules(): Promise<StackModules> {
  // Variable specifiers: tsc must not resolve these while the files are being written.
  const p = (f: string): string => `../../../src/${f}`;
  const [stack, bsd, memory, constants] = await Promise.all([
    import(/* @vite-ignore */ p('stack.js')),
    import(/* @vite-ignore */ p('socket/bsd.js')),
    import(/* @vite-ignore */ p('link/memory.js')),
    import(/* @vite-ignore */ p('socket/constants.js')),
  ]);
  return {
    Stack: stack.Stack,
    SocketApi: bsd.SocketApi,
    memoryLinkPair: memory.memoryLinkPair,
    C: constants as Record<string, number>,
  } as StackModules;
}

/** Linux sysctls a scenario may set, mapped onto TcpConfig; anything else is unsupported. */
function tcpConfig(sysctls: Record<string, string>): { config: Record<string, unknown>; unsupported: string[] } {
  const config: Record<string, unknown> = {};
  const unsupported: string[] = [];
  const bool = (v: string): boolean => v.trim() !== '0';
  let rack: boolean | undefined;
  let tlp: boolean | undefined;
  for (const [k, v] of Object.entries(sysctls)) {
    const n = Number(v);
    switch (k) {
      case 'net.ipv4.tcp_sack': config.sack = bool(v); break;
      case 'net.ipv4.tcp_timestamps': config.timestamps = bool(v); break;
      case 'net.ipv4.tcp_window_scaling': config.windowScaling = bool(v); break;
      case 'net.ipv4.tcp_syncookies': config.syncookies = n === 0 ? 'off' : n === 2 ? 'always' : 'on-overflow'; break;
      case 'net.ipv4.tcp_rto_min_us': config.minRto = n / 1000; break;
      case 'net.ipv4.tcp_syn_retries': config.synRetries = n; break;
      case 'net.ipv4.tcp_synack_retries': config.synAckRetries = n; break;
      case 'net.ipv4.tcp_retries2': config.retries2 = n; break;
      case 'net.ipv4.tcp_keepalive_time': config.keepaliveIdle = n; break;
      case 'net.ipv4.tcp_keepalive_intvl': config.keepaliveInterval = n; break;
      case 'net.ipv4.tcp_keepalive_probes': config.keepaliveCount = n; break;
      case 'net.ipv4.tcp_fin_timeout': config.finTimeout = n * 1000; break;
      case 'net.ipv4.tcp_challenge_ack_limit': config.challengeAckLimit = n; break;
      case 'net.ipv4.tcp_congestion_control': config.defaultCongestion = v === 'reno' ? 'newreno' : v; break;
      // RACK-TLP is one switch here: RACK loss detection (tcp_recovery bit 0) with the tail
      // loss probe (tcp_early_retrans 3 or 4); both must be on for rackTlp.
      case 'net.ipv4.tcp_recovery': rack = (n & 1) !== 0; break;
      case 'net.ipv4.tcp_early_retrans': tlp = n === 3 || n === 4; break;
      default: unsupported.push(k);
    }
  }
  if (rack !== undefined || tlp !== undefined) config.rackTlp = (rack ?? true) && (tlp ?? true);
  return { config, unsupported };
}

/** The suite-wide Linux pins that have a meaning for our stack (the rest are Linux-only knobs). */
const SUITE_CONFIG = tcpConfig({
  'net.ipv4.tcp_rto_min_us': '1000000',
  'net.ipv4.tcp_congestion_control': 'reno',
  'net.ipv4.tcp_syncookies': '1',
  // Linux is pinned without RACK and TLP (sysctls.ts): classic DupThresh and RTO timing.
  'net.ipv4.tcp_recovery': '0',
  'net.ipv4.tcp_early_retrans': '0',
}).config;

export class StackRunner implements Runner {
  readonly name = 'stack';
  readonly timeKind = 'virtual' as const;
  private readonly clock = new ManualClock(0);
  private readonly m: StackModules;
  private readonly stack: { close(): void };
  private readonly sys: SocketApiLike;
  private readonly peer: Link;
  private readonly sut: Link;
  private readonly written = new Map<number, number>();
  private onOutbound: ((frame: Uint8Array, t: number) => void) | undefined;
  private closed = false;

  constructor(m: StackModules, script: Script, seed: number) {
    this.m = m;
    const [sut, peer] = m.memoryLinkPair(this.clock, { mtu: 1500 });
    this.sut = sut;
    this.peer = peer;
    const { config } = tcpConfig(script.sysctls);
    const stack = new m.Stack({
      link: sut,
      clock: this.clock,
      rng: new SeededRng(seed),
      addr: `${SUT_IP}/24`,
      mac: SUT_MAC,
      tcp: { ...SUITE_CONFIG, ...config },
    });
    this.stack = stack;
    this.sys = new m.SocketApi({ tcp: stack.tcp, udp: stack.udp, clock: this.clock, localAddr: SUT_IP });
    peer.setReceiver({ receive: (f) => this.onOutbound?.(f.slice(), this.clock.now()) });
  }

  now(): number {
    return this.clock.now();
  }

  async start(onOutbound: (frame: Uint8Array, t: number) => void): Promise<void> {
    this.onOutbound = onOutbound;
  }

  inject(frame: Uint8Array): void {
    this.peer.send(frame);
  }

  kick(): void {}

  /** Step virtual time until `done()` or the deadline, letting promise continuations run. */
  async wait(deadline: number, done: () => boolean): Promise<void> {
    for (let i = 0; i < 1_000_000; i++) {
      await new Promise<void>((r) => setImmediate(r));
      if (done()) return;
      const next = this.clock.nextDeadline();
      if (next === undefined || next > deadline) {
        if (Number.isFinite(deadline)) this.clock.advanceTo(deadline);
        await new Promise<void>((r) => setImmediate(r));
        return;
      }
      this.clock.step();
    }
    throw new Error('virtual time: more than a million timer events in one wait (runaway timer?)');
  }

  async call(req: SysRequest): Promise<SysResult> {
    try {
      return await this.dispatch(req);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { ret: -1, errno: code };
      return { ret: -1, errno: `EHARNESS (${e instanceof Error ? e.message : String(e)})` };
    }
  }

  private async dispatch(req: SysRequest): Promise<SysResult> {
    const C = this.m.C;
    const s = this.sys;
    const c = (name: string): number => {
      const v = C[name];
      if (v === undefined) throw new Error(`src/socket/constants.ts has no ${name}`);
      return v;
    };
    switch (req.op) {
      case 'socket':
        return { ret: s.socket(c('AF_INET'), req.type === 'stream' ? c('SOCK_STREAM') : c('SOCK_DGRAM'), 0) };
      case 'bind':
        s.bind(req.h, { addr: req.addr, port: req.port });
        return { ret: 0 };
      case 'listen':
        s.listen(req.h, req.backlog);
        return { ret: 0 };
      case 'accept':
        return { ret: await s.accept(req.h) };
      case 'connect':
        await s.connect(req.h, { addr: req.addr, port: req.port });
        return { ret: 0 };
      case 'read': {
        const buf = new Uint8Array(req.len);
        const n = await s.read(req.h, buf, req.len);
        return { ret: n, data: buf.subarray(0, n) };
      }
      case 'write': {
        const off = this.written.get(req.h) ?? 0;
        const n = await s.write(req.h, pattern(off, req.len), req.len);
        this.written.set(req.h, off + n);
        return { ret: n };
      }
      case 'sendto':
        return { ret: await s.sendto(req.h, pattern(0, req.len), req.len, 0, { addr: req.addr, port: req.port }) };
      case 'shutdown':
        s.shutdown(req.h, c(req.how));
        return { ret: 0 };
      case 'close':
        s.close(req.h);
        return { ret: 0 };
      case 'setsockopt': {
        const v = req.value;
        const value = typeof v === 'object' ? { l_onoff: v.onoff, l_linger: v.linger } : v;
        s.setsockopt(req.h, c(req.level), c(req.name), value);
        return { ret: 0 };
      }
      case 'getsockopt': {
        const v = s.getsockopt(req.h, c(req.level), c(req.name));
        return { ret: 0, value: typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v) };
      }
      case 'fcntl': {
        if (req.cmd === 'F_GETFL') return { ret: s.fcntl(req.h, c('F_GETFL')) };
        // Script flags use Linux's O_NONBLOCK (0x800); the socket layer has its own constant.
        const flags = (req.flags ?? 0) & 0x800 ? c('O_NONBLOCK') | c('O_RDWR') : c('O_RDWR');
        return { ret: s.fcntl(req.h, c('F_SETFL'), flags) };
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stack.close();
    this.peer.close();
    this.sut.close();
  }
}

export const stackRunnerFactory: RunnerFactory = {
  name: 'stack',
  async available() {
    for (const f of REQUIRED) {
      if (!existsSync(root + f)) return { ok: false, reason: `${f} does not exist yet` };
    }
    try {
      modules ??= loadModules();
      await modules;
      return { ok: true };
    } catch (e) {
      modules = undefined;
      return { ok: false, reason: `cannot load the stack: ${e instanceof Error ? e.message : String(e)}` };
    }
  },
  unsupported(script) {
    const { unsupported } = tcpConfig(script.sysctls);
    return unsupported.length > 0 ? `no equivalent for sysctl ${unsupported.join(', ')}` : undefined;
  },
  async create(script) {
    modules ??= loadModules();
    const seed = Number(process.env.CONFORMANCE_SEED ?? 1);
    return new StackRunner(await modules, script, seed);
  },
};

