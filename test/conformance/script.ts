/**
 * The scenario language: the parsed form of a .pkt file (a readable subset of packetdrill).
 * See docs/conformance.md for the grammar. Times are in milliseconds here.
 */

/** When an event happens, relative to the previous event (`+a`) or to the script start (`a`). */
export type TimeSpec =
  | { kind: 'any' }
  | { kind: 'rel'; lo: number; hi: number }
  | { kind: 'abs'; lo: number; hi: number };

/** A value the scenario states: a literal, "anything" (`*`), or a named capture (`$x`). */
export type Val = { kind: 'num'; n: number } | { kind: 'any' } | { kind: 'var'; name: string };

export type WinSpec =
  | { kind: 'any' }
  | { kind: 'eq'; v: Val }
  | { kind: 'cmp'; op: '>' | '<' | '>=' | '<='; n: number };

export type OptSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; v: Val }
  | { kind: 'wscale'; v: Val }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'ts'; val: Val; ecr: Val }
  /** `!TS`, `!sackOK`... : the option must be absent (only in outbound lists). */
  | { kind: 'absent'; what: 'mss' | 'wscale' | 'sackOK' | 'sack' | 'ts' };

/**
 * Option list matching (outbound): `<...>` anything; a list with `...` = these options
 * present (any order, padding ignored), others allowed; a list written with nop/eol = the
 * exact byte layout; otherwise = exactly this set of options, in any order, padding ignored.
 */
export type OptionsSpec =
  | { kind: 'any' }
  | { kind: 'list'; opts: OptSpec[]; mode: 'exact' | 'set' | 'subset' };

export interface FlowSel {
  /** The scripted peer's port (remote, from the SUT's point of view). */
  rport?: number;
  /** The SUT's port (local). */
  lport?: number;
}

export interface TcpPacketSpec {
  proto: 'tcp';
  flags: number;
  /** Relative start, end; end - start = payload length. */
  start: number;
  end: number;
  ack?: number;
  win: WinSpec;
  urg?: number;
  options: OptionsSpec;
}

export interface UdpPacketSpec {
  proto: 'udp';
  len: number;
}

export interface IcmpPacketSpec {
  proto: 'icmp';
  type: number;
  code: number;
  /** echo id/seq */
  id?: number;
  seq?: number;
  /** frag-needed next-hop MTU */
  mtu?: number;
  /** echo payload length */
  len?: number;
}

export interface ArpPacketSpec {
  proto: 'arp';
  op: 'request' | 'reply';
  /** request: who-has target tell sender; reply: sender is-at mac */
  target?: number;
  sender: number;
  mac?: string;
}

export type PacketSpec = TcpPacketSpec | UdpPacketSpec | IcmpPacketSpec | ArpPacketSpec;

/** A syscall argument as written. */
export type Arg =
  | { kind: 'ellipsis' }
  | { kind: 'num'; n: number }
  | { kind: 'ident'; names: string[] } // `O_RDWR|O_NONBLOCK` -> two names
  | { kind: 'list'; items: Arg[] }
  | { kind: 'struct'; fields: Record<string, Arg> }
  | { kind: 'str'; s: string }
  | { kind: 'addr'; addr: string; port: number };

export interface SyscallSpec {
  name: string;
  args: Arg[];
  /** `= N` */
  ret: number;
  errno?: string;
}

export interface BaseEvent {
  line: number;
  text: string;
  time: TimeSpec;
}

export type ScriptEvent =
  | (BaseEvent & { kind: 'syscall'; call: SyscallSpec; end?: { kind: 'rel' | 'abs'; t: number } })
  | (BaseEvent & { kind: 'packet'; dir: 'in' | 'out'; flow: FlowSel; pkt: PacketSpec });

export interface Script {
  name: string;
  file: string;
  /** Sysctls set for this scenario (on top of the suite's pinned defaults). */
  sysctls: Record<string, string>;
  /** `--name=value` header options. */
  options: Record<string, string>;
  events: ScriptEvent[];
}

export class ScriptError extends Error {
  readonly line: number;
  constructor(file: string, line: number, msg: string) {
    super(`${file}:${line}: ${msg}`);
    this.line = line;
  }
}
