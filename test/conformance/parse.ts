/**
 * Parser for the scenario language (docs/conformance.md). One event per line:
 *
 *   TIME  syscall(args) = RET [ERRNO [(text)]]
 *   TIME  < [flow] TCP-PACKET           (inbound: the scripted peer sends it)
 *   TIME  > [flow] TCP-PACKET           (outbound: the system under test must send it)
 *   TIME  < [flow] udp (LEN)  |  icmp ...  |  arp ...
 *
 * plus `--option=value` header lines and `sysctl` lines in backticks.
 */
import {
  TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, parseIpv4,
} from './wire.js';
import type {
  Arg, ArpPacketSpec, FlowSel, IcmpPacketSpec, OptSpec, OptionsSpec, PacketSpec, Script, ScriptEvent,
  SyscallSpec, TcpPacketSpec, TimeSpec, Val, WinSpec,
} from './script.js';
import { ScriptError } from './script.js';

const FLAG_CHARS: Record<string, number> = {
  S: TCP_SYN, F: TCP_FIN, R: TCP_RST, P: TCP_PSH, '.': TCP_ACK, U: TCP_URG, E: TCP_ECE, W: TCP_CWR,
};

/** ICMP names: type, code. */
const ICMP_TYPES: Record<string, number> = { echo_reply: 0, unreachable: 3, echo_request: 8, time_exceeded: 11 };
const ICMP_UNREACH_CODES: Record<string, number> = {
  net_unreachable: 0, host_unreachable: 1, protocol_unreachable: 2, port_unreachable: 3, frag_needed: 4,
};

/** Only these header options exist; a typo must not be silently ignored. */
const KNOWN_OPTIONS = new Set(['tolerance_ms', 'timeout_s', 'peer_isn', 'auto_arp', 'description']);

/** Sysctls a scenario may set (the Linux runner writes them; the stack runner maps them to config). */
const SYSCTL_RE = /^net\.(ipv4|core)\.[a-z0-9_.]+$/;

class Cursor {
  private i = 0;
  readonly s: string;
  readonly fail: (msg: string) => never;
  constructor(s: string, fail: (msg: string) => never) {
    this.s = s;
    this.fail = fail;
  }
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  eof(): boolean {
    this.ws();
    return this.i >= this.s.length;
  }
  peek(n = 1): string {
    this.ws();
    return this.s.slice(this.i, this.i + n);
  }
  rest(): string {
    this.ws();
    return this.s.slice(this.i);
  }
  /** Consume `tok` if it comes next. */
  eat(tok: string): boolean {
    this.ws();
    if (this.s.startsWith(tok, this.i)) {
      this.i += tok.length;
      return true;
    }
    return false;
  }
  expect(tok: string): void {
    if (!this.eat(tok)) this.fail(`expected '${tok}' at '${this.rest().slice(0, 30)}'`);
  }
  /** Match a regex anchored at the cursor. */
  match(re: RegExp): string | undefined {
    this.ws();
    const m = new RegExp(`^(?:${re.source})`).exec(this.s.slice(this.i));
    if (m === null) return undefined;
    this.i += m[0].length;
    return m[0];
  }
  need(re: RegExp, what: string): string {
    const m = this.match(re);
    if (m === undefined) this.fail(`expected ${what} at '${this.rest().slice(0, 30)}'`);
    return m;
  }
  word(): string | undefined {
    return this.match(/[A-Za-z_][A-Za-z0-9_-]*/);
  }
  num(): number | undefined {
    const m = this.match(/-?(0x[0-9a-fA-F]+|\d+)/);
    return m === undefined ? undefined : Number(m);
  }
  needNum(what: string): number {
    const n = this.num();
    if (n === undefined) this.fail(`expected ${what} at '${this.rest().slice(0, 30)}'`);
    return n;
  }
}

function secondsToMs(s: string): number {
  return Math.round(Number(s) * 1e6) / 1e3;
}

const TIME_NUM = /\d*\.?\d+|\d+\./;

function parseTime(c: Cursor): { time: TimeSpec; end?: { kind: 'rel' | 'abs'; t: number } } {
  if (c.eat('*')) return { time: { kind: 'any' } };
  const one = (): { rel: boolean; t: number } => {
    const rel = c.eat('+');
    const t = c.match(TIME_NUM);
    if (t === undefined) c.fail(`expected a time at '${c.rest().slice(0, 20)}'`);
    return { rel, t: secondsToMs(t) };
  };
  const a = one();
  let time: TimeSpec = { kind: a.rel ? 'rel' : 'abs', lo: a.t, hi: a.t };
  if (c.eat('~')) {
    const b = one();
    if (b.rel !== a.rel) c.fail('a time range must be both relative or both absolute');
    if (b.t < a.t) c.fail('time range end before its start');
    time = { kind: a.rel ? 'rel' : 'abs', lo: a.t, hi: b.t };
  }
  if (c.eat('...')) {
    const b = one();
    return { time, end: { kind: b.rel ? 'rel' : 'abs', t: b.t } };
  }
  return { time };
}

function parseVal(c: Cursor, what: string): Val {
  if (c.eat('*')) return { kind: 'any' };
  if (c.eat('$')) return { kind: 'var', name: c.need(/[A-Za-z_][A-Za-z0-9_]*/, 'a capture name') };
  return { kind: 'num', n: c.needNum(what) };
}

function parseSeqPair(c: Cursor): [number, number] {
  const a = c.needNum('sequence number');
  c.expect(':');
  const b = c.needNum('sequence number');
  return [a, b];
}

function parseOptions(c: Cursor): OptionsSpec {
  c.expect('<');
  if (c.eat('...>')) return { kind: 'any' };
  const opts: OptSpec[] = [];
  let ellipsis = false;
  let padding = false;
  for (;;) {
    if (c.eat('...')) {
      ellipsis = true;
    } else if (c.eat('!')) {
      const w = c.word();
      const what = w === 'TS' ? 'ts' : w === 'sackOK' ? 'sackOK' : w === 'mss' ? 'mss' : w === 'wscale' ? 'wscale' : w === 'sack' ? 'sack' : undefined;
      if (what === undefined) c.fail(`unknown option after '!': ${w}`);
      opts.push({ kind: 'absent', what });
    } else {
      const w = c.word();
      switch (w) {
        case 'nop': opts.push({ kind: 'nop' }); padding = true; break;
        case 'eol': opts.push({ kind: 'eol' }); padding = true; break;
        case 'mss': opts.push({ kind: 'mss', v: parseVal(c, 'MSS') }); break;
        case 'wscale': opts.push({ kind: 'wscale', v: parseVal(c, 'window scale') }); break;
        case 'sackOK': opts.push({ kind: 'sackOK' }); break;
        case 'sack': {
          const blocks: Array<[number, number]> = [];
          while (/^\d/.test(c.peek())) blocks.push(parseSeqPair(c));
          if (blocks.length === 0) c.fail('sack needs at least one block a:b');
          opts.push({ kind: 'sack', blocks });
          break;
        }
        case 'TS': {
          if (c.word() !== 'val') c.fail("expected 'TS val X ecr Y'");
          const val = parseVal(c, 'TS val');
          if (c.word() !== 'ecr') c.fail("expected 'ecr' in TS option");
          opts.push({ kind: 'ts', val, ecr: parseVal(c, 'TS ecr') });
          break;
        }
        default:
          c.fail(`unknown TCP option '${w ?? c.rest().slice(0, 10)}'`);
      }
    }
    if (c.eat('>')) break;
    c.expect(',');
  }
  if (ellipsis && padding) c.fail("an option list with '...' cannot also pin nop/eol padding");
  return { kind: 'list', opts, mode: ellipsis ? 'subset' : padding ? 'exact' : 'set' };
}

function parseTcp(c: Cursor): { spec: TcpPacketSpec; sawWin: boolean; sawOpts: boolean } {
  const flagStr = c.need(/[SFRPUEW.]+|-/, 'TCP flags (S . P F R)');
  let flags = 0;
  if (flagStr !== '-') for (const ch of flagStr) flags |= FLAG_CHARS[ch]!;
  const [start, end] = parseSeqPair(c);
  c.expect('(');
  const len = c.needNum('payload length');
  c.expect(')');
  if (end - start !== len) c.fail(`sequence range ${start}:${end} does not match length (${len})`);
  const spec: TcpPacketSpec = { proto: 'tcp', flags, start, end, win: { kind: 'any' }, options: { kind: 'any' } };
  let sawWin = false;
  let sawOpts = false;
  while (!c.eof()) {
    if (c.peek() === '<') {
      spec.options = parseOptions(c);
      sawOpts = true;
      continue;
    }
    const w = c.word();
    if (w === 'ack') {
      spec.ack = c.needNum('ack number');
    } else if (w === 'win') {
      sawWin = true;
      spec.win = parseWin(c);
    } else if (w === 'urg') {
      spec.urg = c.needNum('urgent pointer');
    } else {
      c.fail(`unexpected '${w ?? c.rest().slice(0, 10)}' in TCP packet`);
    }
  }
  if ((flags & TCP_ACK) !== 0 && spec.ack === undefined) c.fail("an ACK ('.') packet needs 'ack N'");
  if ((flags & TCP_ACK) === 0 && spec.ack !== undefined) c.fail("'ack N' without the ACK flag '.'");
  return { spec, sawWin, sawOpts };
}

function parseWin(c: Cursor): WinSpec {
  if (c.eat('...')) return { kind: 'any' };
  const op = c.match(/>=|<=|>|</);
  if (op !== undefined) return { kind: 'cmp', op: op as '>' | '<' | '>=' | '<=', n: c.needNum('window') };
  return { kind: 'eq', v: parseVal(c, 'window') };
}

function parseIcmp(c: Cursor): IcmpPacketSpec {
  const t = c.word() ?? '';
  const type = ICMP_TYPES[t];
  if (type === undefined) c.fail(`unknown ICMP type '${t}' (echo_request, echo_reply, unreachable, time_exceeded)`);
  const spec: IcmpPacketSpec = { proto: 'icmp', type, code: 0 };
  if (type === 3) {
    const code = c.word() ?? '';
    const n = ICMP_UNREACH_CODES[code];
    if (n === undefined) c.fail(`unknown unreachable code '${code}'`);
    spec.code = n;
  }
  while (!c.eof()) {
    if (c.eat('(')) {
      spec.len = c.needNum('length');
      c.expect(')');
      continue;
    }
    if (c.eat('[')) {
      // Quoted datagram: the harness quotes the flow's last outbound datagram; `[...]` documents it.
      c.need(/[^\]]*/, 'quote');
      c.expect(']');
      continue;
    }
    const w = c.word();
    if (w === 'id') spec.id = c.needNum('echo id');
    else if (w === 'seq') spec.seq = c.needNum('echo seq');
    else if (w === 'mtu') spec.mtu = c.needNum('mtu');
    else c.fail(`unexpected '${w ?? c.rest().slice(0, 10)}' in ICMP packet`);
  }
  if (type === 3 && spec.code === 4 && spec.mtu === undefined) c.fail('frag_needed needs mtu N');
  return spec;
}

function parseArp(c: Cursor): ArpPacketSpec {
  const ip = (): number => parseIpv4(c.need(/\d+\.\d+\.\d+\.\d+/, 'an IPv4 address'));
  const w = c.word();
  if (w === 'who-has') {
    const target = ip();
    if (c.word() !== 'tell') c.fail("expected 'arp who-has A tell B'");
    return { proto: 'arp', op: 'request', target, sender: ip() };
  }
  if (w === 'reply') {
    const sender = ip();
    if (c.word() !== 'is-at') c.fail("expected 'arp reply A is-at MAC'");
    const mac = c.eat('*') ? '*' : c.need(/[0-9a-fA-F:]{11,17}/, 'a MAC address');
    return { proto: 'arp', op: 'reply', sender, mac };
  }
  return c.fail("expected 'arp who-has ...' or 'arp reply ...'");
}

function parseFlow(c: Cursor): FlowSel {
  const f: FlowSel = {};
  if (!c.eat('[')) return f;
  while (!c.eat(']')) {
    const w = c.word();
    c.expect('=');
    const n = c.needNum('port');
    if (w === 'rport') f.rport = n;
    else if (w === 'lport') f.lport = n;
    else c.fail(`unknown flow selector '${w}' (rport=, lport=)`);
  }
  return f;
}

function parsePacket(c: Cursor, dir: 'in' | 'out'): { flow: FlowSel; pkt: PacketSpec } {
  const flow = parseFlow(c);
  let pkt: PacketSpec;
  if (c.match(/udp\b/) !== undefined) {
    c.expect('(');
    const len = c.needNum('UDP payload length');
    c.expect(')');
    pkt = { proto: 'udp', len };
  } else if (c.match(/icmp\b/) !== undefined) {
    pkt = parseIcmp(c);
  } else if (c.match(/arp\b/) !== undefined) {
    pkt = parseArp(c);
  } else {
    const { spec: t, sawWin, sawOpts } = parseTcp(c);
    pkt = t;
    // Outbound without an option list: the SUT must send no options at all (like packetdrill).
    if (dir === 'out' && !sawOpts) t.options = { kind: 'list', opts: [], mode: 'set' };
    if (dir === 'in') {
      if (t.options.kind === 'any' && sawOpts) c.fail("inbound packets cannot use '<...>'");
      if (t.options.kind === 'list' && t.options.opts.some((o) => o.kind === 'absent')) c.fail("inbound packets cannot use '!option'");
      if (t.win.kind !== 'eq' || t.win.v.kind !== 'num') {
        if (sawWin) c.fail('inbound packets need a literal window');
        t.win = { kind: 'eq', v: { kind: 'num', n: 65535 } };
      }
    }
  }
  if (!c.eof()) c.fail(`trailing text '${c.rest()}'`);
  return { flow, pkt };
}

function parseArg(c: Cursor): Arg {
  if (c.eat('...')) return { kind: 'ellipsis' };
  if (c.eat('[')) {
    const items: Arg[] = [];
    if (!c.eat(']')) {
      for (;;) {
        items.push(parseArg(c));
        if (c.eat(']')) break;
        c.expect(',');
      }
    }
    return { kind: 'list', items };
  }
  if (c.eat('{')) {
    const fields: Record<string, Arg> = {};
    if (!c.eat('}')) {
      for (;;) {
        const k = c.need(/[A-Za-z_][A-Za-z0-9_]*/, 'a field name');
        c.expect('=');
        fields[k] = parseArg(c);
        if (c.eat('}')) break;
        c.expect(',');
      }
    }
    return { kind: 'struct', fields };
  }
  if (c.eat('"')) {
    const s = c.need(/[^"]*/, 'string');
    c.expect('"');
    return { kind: 'str', s };
  }
  const addr = c.match(/\d+\.\d+\.\d+\.\d+:\d+/);
  if (addr !== undefined) {
    const [a, p] = addr.split(':');
    parseIpv4(a!);
    return { kind: 'addr', addr: a!, port: Number(p) };
  }
  const n = c.num();
  if (n !== undefined) return { kind: 'num', n };
  const id = c.match(/[A-Za-z_][A-Za-z0-9_]*(\s*\|\s*[A-Za-z_][A-Za-z0-9_]*)*/);
  if (id !== undefined) return { kind: 'ident', names: id.split('|').map((s) => s.trim()) };
  return c.fail(`bad syscall argument at '${c.rest().slice(0, 20)}'`);
}

function parseSyscall(c: Cursor): SyscallSpec {
  const name = c.need(/[a-z_]+/, 'a syscall name');
  c.expect('(');
  const args: Arg[] = [];
  if (!c.eat(')')) {
    for (;;) {
      args.push(parseArg(c));
      if (c.eat(')')) break;
      c.expect(',');
    }
  }
  c.expect('=');
  const ret = c.needNum('a return value');
  const call: SyscallSpec = { name, args, ret };
  if (ret === -1) {
    const e = c.need(/E[A-Z]+/, 'an errno name after -1');
    call.errno = e;
  }
  if (c.eat('(')) {
    c.need(/[^)]*/, 'text');
    c.expect(')');
  }
  if (!c.eof()) c.fail(`trailing text '${c.rest()}'`);
  return call;
}

function stripComments(src: string): string[] {
  // Block comments keep their newlines so line numbers stay right.
  const noBlocks = src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '));
  return noBlocks.split('\n').map((l) => {
    const i = l.indexOf('//');
    return i >= 0 ? l.slice(0, i) : l;
  });
}

export function parseScript(src: string, file: string, name = file): Script {
  const script: Script = { name, file, sysctls: {}, options: {}, events: [] };
  const lines = stripComments(src);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const text = raw.trim();
    if (text === '') return;
    const fail = (msg: string): never => {
      throw new ScriptError(file, lineNo, msg);
    };
    if (text.startsWith('--')) {
      const m = /^--([a-z_]+)=(.*)$/.exec(text);
      if (m === null) fail(`bad option line '${text}' (expected --name=value)`);
      if (!KNOWN_OPTIONS.has(m![1]!)) fail(`unknown option --${m![1]}`);
      if (script.events.length > 0) fail('options must come before the first event');
      script.options[m![1]!] = m![2]!.trim();
      return;
    }
    if (text.startsWith('`')) {
      const m = /^`\s*sysctl\s+((?:-[qw]\s+)*)(.*)`$/.exec(text);
      if (m === null) fail('only `sysctl [-q] name=value ...` commands are allowed in backticks');
      if (script.events.length > 0) fail('sysctl lines must come before the first event');
      for (const kv of m![2]!.trim().split(/\s+/)) {
        const eq = kv.indexOf('=');
        const k = kv.slice(0, eq);
        if (eq <= 0 || !SYSCTL_RE.test(k)) fail(`bad sysctl '${kv}'`);
        script.sysctls[k] = kv.slice(eq + 1).replace(/,/g, ' ');
      }
      return;
    }
    const c = new Cursor(text, fail);
    const { time, end } = parseTime(c);
    let ev: ScriptEvent;
    if (c.eat('<')) {
      ev = { kind: 'packet', dir: 'in', line: lineNo, text, time, ...parsePacket(c, 'in') };
      if (time.kind === 'any') fail("an inbound packet needs a time, not '*'");
      else if (time.lo !== time.hi) fail('an inbound packet needs one time, not a range');
    } else if (c.eat('>')) {
      ev = { kind: 'packet', dir: 'out', line: lineNo, text, time, ...parsePacket(c, 'out') };
    } else {
      ev = { kind: 'syscall', line: lineNo, text, time, call: parseSyscall(c) };
      if (end !== undefined) ev.end = end;
    }
    if (end !== undefined && ev.kind !== 'syscall') fail("'...' end times are for blocking syscalls");
    if (script.events.length === 0 && time.kind === 'any') fail("the first event needs a time, not '*'");
    script.events.push(ev);
  });
  if (script.events.length === 0) throw new ScriptError(file, 0, 'no events');
  return script;
}
