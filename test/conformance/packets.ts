/**
 * Packet lines <-> frames, with the symbolic state that makes them comparable across
 * systems: per-flow sequence bases (the SUT's ISN, learnt from its SYN; the peer's ISN,
 * chosen by the script), the SUT's latest timestamp value, and named captures ($x).
 */
import type { FlowSel, OptSpec, OptionsSpec, PacketSpec, TcpPacketSpec, Val, WinSpec } from './script.js';
import {
  PEER_IP, PEER_MAC, PEER_PORT, SUT_IP, SUT_MAC, SUT_PORT, patternByte, pattern,
} from './runner.js';
import {
  type Decoded, type FrameAddrs, type TcpOption, type TcpSegment,
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, buildArp, buildIcmp, buildTcp, buildUdp, ipToString, macToString, parseIpv4, parseMac,
  tcpFlagsToString,
} from './wire.js';

export interface Flow {
  rport: number;
  lport: number;
  /** True once the SUT's port is certain (we sent to it, or it sent from it). */
  lportKnown: boolean;
  /** The SUT's initial sequence number (from its SYN); 0 (absolute) until seen. */
  sutIsn: number | undefined;
  /** The peer's (script's) initial sequence number. */
  peerIsn: number;
  /** The latest TS val the SUT sent on this flow: `ecr *` in inbound packets echoes it. */
  lastSutTsVal: number | undefined;
  /** The latest IP datagram each side sent on this flow (quoted by ICMP errors). */
  lastOut: Uint8Array | undefined;
  lastIn: Uint8Array | undefined;
  /** The SUT's latest TCP segment on this flow: next seq, ack and raw window. */
  lastSent: { nextSeq: number; ack: number; win: number } | undefined;
}

export class Mismatch extends Error {}

const peerIp = parseIpv4(PEER_IP);
const sutIp = parseIpv4(SUT_IP);
const peerMac = parseMac(PEER_MAC);
const sutMac = parseMac(SUT_MAC);
const BROADCAST = new Uint8Array([255, 255, 255, 255, 255, 255]);
export const PEER_ADDRS: FrameAddrs = { srcMac: peerMac, dstMac: sutMac, srcIp: peerIp, dstIp: sutIp };

export class PacketState {
  readonly flows = new Map<number, Flow>();
  readonly captures = new Map<string, number>();
  private readonly peerIsn: number;

  constructor(peerIsn = 0) {
    this.peerIsn = peerIsn >>> 0;
  }

  flow(sel: FlowSel): Flow {
    const rport = sel.rport ?? PEER_PORT;
    let f = this.flows.get(rport);
    if (f === undefined) {
      f = {
        rport, lport: SUT_PORT, lportKnown: false, sutIsn: undefined, peerIsn: this.peerIsn,
        lastSutTsVal: undefined, lastOut: undefined, lastIn: undefined, lastSent: undefined,
      };
      this.flows.set(rport, f);
    }
    if (sel.lport !== undefined) {
      if (f.lportKnown && f.lport !== sel.lport) throw new Mismatch(`flow rport=${rport} is bound to SUT port ${f.lport}, not ${sel.lport}`);
      f.lport = sel.lport;
    }
    return f;
  }

  private value(v: Val, what: string): number {
    if (v.kind === 'num') return v.n >>> 0;
    if (v.kind === 'var') {
      const c = this.captures.get(v.name);
      if (c === undefined) throw new Mismatch(`$${v.name} used in ${what} before it was captured`);
      return c;
    }
    throw new Mismatch(`'*' is not allowed for ${what} in an inbound packet`);
  }

  // ------------------------------------------------------------ inbound

  /** Build the frame for an inbound packet line. */
  build(sel: FlowSel, pkt: PacketSpec): Uint8Array {
    const f = this.flow(sel);
    let frame: Uint8Array;
    switch (pkt.proto) {
      case 'tcp': {
        f.lportKnown = true;
        const sutBase = f.sutIsn ?? 0;
        const options: TcpOption[] = [];
        if (pkt.options.kind === 'list') {
          for (const o of pkt.options.opts) options.push(this.inboundOption(o, f));
        }
        const len = pkt.end - pkt.start;
        const seg: TcpSegment = {
          srcPort: f.rport,
          dstPort: f.lport,
          seq: (f.peerIsn + pkt.start) >>> 0,
          ack: pkt.ack === undefined ? 0 : (sutBase + pkt.ack) >>> 0,
          flags: pkt.flags,
          win: pkt.win.kind === 'eq' ? this.value(pkt.win.v, 'win') : 65535,
          urg: pkt.urg ?? 0,
          options,
          payload: pattern(Math.max(0, pkt.start - 1), len),
        };
        frame = buildTcp(PEER_ADDRS, seg);
        break;
      }
      case 'udp':
        f.lportKnown = true;
        frame = buildUdp(PEER_ADDRS, { srcPort: f.rport, dstPort: f.lport, payload: pattern(0, pkt.len) });
        break;
      case 'icmp': {
        let rest = 0;
        let body: Uint8Array;
        if (pkt.type === 8 || pkt.type === 0) {
          rest = (((pkt.id ?? 0) & 0xffff) << 16) | ((pkt.seq ?? 0) & 0xffff);
          body = pattern(0, pkt.len ?? 56);
        } else {
          if (f.lastOut === undefined) throw new Mismatch('ICMP error line, but the SUT has sent nothing on this flow to quote');
          // RFC 792: the internet header plus the first 64 bits of the original datagram.
          const ihl = (f.lastOut[0]! & 15) * 4;
          body = f.lastOut.slice(0, Math.min(f.lastOut.length, ihl + 8));
          if (pkt.mtu !== undefined) rest = pkt.mtu & 0xffff;
        }
        frame = buildIcmp(PEER_ADDRS, { type: pkt.type, code: pkt.code, rest: rest >>> 0, body });
        break;
      }
      case 'arp': {
        if (pkt.op === 'request') {
          frame = buildArp({ srcMac: peerMac, dstMac: BROADCAST }, {
            op: 1, sha: peerMac, spa: pkt.sender, tha: new Uint8Array(6), tpa: pkt.target ?? 0,
          });
        } else {
          const mac = pkt.mac === undefined || pkt.mac === '*' ? peerMac : parseMac(pkt.mac);
          frame = buildArp({ srcMac: mac, dstMac: sutMac }, { op: 2, sha: mac, spa: pkt.sender, tha: sutMac, tpa: sutIp });
        }
        return frame;
      }
    }
    f.lastIn = frame.slice(14);
    return frame;
  }

  private inboundOption(o: OptSpec, f: Flow): TcpOption {
    switch (o.kind) {
      case 'nop': return { kind: 'nop' };
      case 'eol': return { kind: 'eol' };
      case 'sackOK': return { kind: 'sackOK' };
      case 'mss': return { kind: 'mss', mss: this.value(o.v, 'mss') };
      case 'wscale': return { kind: 'wscale', shift: this.value(o.v, 'wscale') };
      case 'sack': {
        const base = f.sutIsn ?? 0;
        return { kind: 'sack', blocks: o.blocks.map(([l, r]) => [(base + l) >>> 0, (base + r) >>> 0] as [number, number]) };
      }
      case 'ts': {
        const val = this.value(o.val, 'TS val');
        let ecr: number;
        if (o.ecr.kind === 'any') {
          if (f.lastSutTsVal === undefined) throw new Mismatch("'ecr *' but the SUT has sent no timestamp yet");
          ecr = f.lastSutTsVal;
        } else {
          ecr = this.value(o.ecr, 'TS ecr');
        }
        return { kind: 'ts', val, ecr };
      }
      case 'absent':
        throw new Mismatch('!option in an inbound packet');
    }
  }

  // ------------------------------------------------------------ outbound

  /**
   * A pure window update: an ACK-only segment without data that repeats the SUT's last
   * seq and ack and only opens the window. RFC 1122 4.2.3.3 / RFC 9293 3.8.6.2.2 let a
   * receiver send these when the application reads; they are never required, so a scenario
   * that does not list one tolerates it (the executor logs and skips it).
   */
  isWindowUpdate(d: Decoded): boolean {
    if (d.kind !== 'tcp') return false;
    const t = d.tcp;
    if (t.flags !== TCP_ACK || t.payload.length !== 0) return false;
    const last = this.flows.get(t.dstPort)?.lastSent;
    return last !== undefined && t.seq === last.nextSeq && t.ack === last.ack && t.win > last.win;
  }

  /** Remember the SUT's latest segment on its flow (matched or tolerated). */
  noteSent(d: Decoded): void {
    if (d.kind !== 'tcp') return;
    const t = d.tcp;
    const f = this.flows.get(t.dstPort);
    if (f === undefined) return;
    const len = t.payload.length + (t.flags & TCP_SYN ? 1 : 0) + (t.flags & TCP_FIN ? 1 : 0);
    const next = (t.seq + len) >>> 0;
    // A retransmission does not move SND.NXT back.
    const nextSeq = f.lastSent !== undefined && ((f.lastSent.nextSeq - next) | 0) > 0 ? f.lastSent.nextSeq : next;
    f.lastSent = { nextSeq, ack: t.flags & TCP_ACK ? t.ack : 0, win: t.win };
  }

  /** Check one frame the SUT sent against an outbound line; throws Mismatch with the reason. */
  check(sel: FlowSel, pkt: PacketSpec, d: Decoded): void {
    if (d.kind === 'malformed') throw new Mismatch(`malformed frame: ${d.reason}`);
    if (pkt.proto === 'arp') return this.checkArp(pkt, d);
    if (d.kind !== 'tcp' && d.kind !== 'udp' && d.kind !== 'icmp') throw new Mismatch(`expected ${pkt.proto}, got ${d.kind}`);
    if (macToString(d.eth.src) !== SUT_MAC || macToString(d.eth.dst) !== PEER_MAC) {
      throw new Mismatch(`Ethernet ${macToString(d.eth.src)} > ${macToString(d.eth.dst)}, expected ${SUT_MAC} > ${PEER_MAC}`);
    }
    if (d.ip.src !== sutIp || d.ip.dst !== peerIp) throw new Mismatch(`IP ${ipToString(d.ip.src)} > ${ipToString(d.ip.dst)}, expected ${SUT_IP} > ${PEER_IP}`);
    if (d.kind !== pkt.proto) throw new Mismatch(`expected ${pkt.proto}, got ${d.kind}`);
    const f = this.flow(sel);
    if (d.kind === 'tcp' && pkt.proto === 'tcp') this.checkTcp(f, pkt, d.tcp);
    else if (d.kind === 'udp' && pkt.proto === 'udp') {
      if (d.udp.dstPort !== f.rport || (f.lportKnown && d.udp.srcPort !== f.lport)) {
        throw new Mismatch(`UDP ports ${d.udp.srcPort} > ${d.udp.dstPort}, expected ${f.lport} > ${f.rport}`);
      }
      if (d.udp.payload.length !== pkt.len) throw new Mismatch(`UDP payload ${d.udp.payload.length} bytes, expected ${pkt.len}`);
    } else if (d.kind === 'icmp' && pkt.proto === 'icmp') {
      const m = d.icmp;
      if (m.type !== pkt.type || m.code !== pkt.code) throw new Mismatch(`ICMP type ${m.type} code ${m.code}, expected ${pkt.type}/${pkt.code}`);
      if (pkt.type === 0 || pkt.type === 8) {
        const id = m.rest >>> 16;
        const sq = m.rest & 0xffff;
        if (pkt.id !== undefined && id !== pkt.id) throw new Mismatch(`echo id ${id}, expected ${pkt.id}`);
        if (pkt.seq !== undefined && sq !== pkt.seq) throw new Mismatch(`echo seq ${sq}, expected ${pkt.seq}`);
        const want = pattern(0, pkt.len ?? 56);
        if (m.body.length !== want.length || m.body.some((b, i) => b !== want[i])) {
          throw new Mismatch(`echo data (${m.body.length} bytes) is not the request's data (${want.length} bytes)`);
        }
      } else {
        // RFC 1122 3.2.2: an ICMP error quotes the offending datagram's IP header + at least 8 bytes.
        const orig = f.lastIn;
        if (orig === undefined) throw new Mismatch('ICMP error, but the peer sent nothing on this flow');
        const ihl = (orig[0]! & 15) * 4;
        const need = Math.min(orig.length, ihl + 8);
        if (m.body.length < need) throw new Mismatch(`ICMP error quotes ${m.body.length} bytes, expected at least ${need}`);
        // TTL and checksum may legitimately differ in the quote (RFC 1812 4.3.2.3); compare the rest.
        for (let i = 0; i < need; i++) {
          if (i === 8 || i === 10 || i === 11) continue;
          if (m.body[i] !== orig[i]) throw new Mismatch(`ICMP error quote differs from the original datagram at byte ${i}`);
        }
        if (pkt.mtu !== undefined && (m.rest & 0xffff) !== pkt.mtu) throw new Mismatch(`next-hop MTU ${m.rest & 0xffff}, expected ${pkt.mtu}`);
      }
    }
    f.lastOut = d.ip.raw.slice();
  }

  private checkArp(pkt: Extract<PacketSpec, { proto: 'arp' }>, d: Decoded): void {
    if (d.kind !== 'arp') throw new Mismatch(`expected arp, got ${d.kind}`);
    const a = d.arp;
    if (pkt.op === 'request') {
      if (a.op !== 1) throw new Mismatch(`ARP op ${a.op}, expected request (1)`);
      if (a.tpa !== pkt.target || a.spa !== pkt.sender) {
        throw new Mismatch(`ARP who-has ${ipToString(a.tpa)} tell ${ipToString(a.spa)}, expected who-has ${ipToString(pkt.target ?? 0)} tell ${ipToString(pkt.sender)}`);
      }
      if (macToString(a.sha) !== SUT_MAC) throw new Mismatch(`ARP sender MAC ${macToString(a.sha)}, expected ${SUT_MAC}`);
      return;
    }
    if (a.op !== 2) throw new Mismatch(`ARP op ${a.op}, expected reply (2)`);
    if (a.spa !== pkt.sender) throw new Mismatch(`ARP reply for ${ipToString(a.spa)}, expected ${ipToString(pkt.sender)}`);
    const mac = pkt.mac === undefined || pkt.mac === '*' ? SUT_MAC : pkt.mac.toLowerCase();
    if (macToString(a.sha) !== mac) throw new Mismatch(`ARP reply is-at ${macToString(a.sha)}, expected ${mac}`);
    if (macToString(d.eth.src) !== macToString(a.sha)) throw new Mismatch('ARP reply sender MAC differs from the Ethernet source');
    if (a.tpa !== peerIp || macToString(a.tha) !== PEER_MAC) throw new Mismatch(`ARP reply sent to ${ipToString(a.tpa)} ${macToString(a.tha)}, expected the asker ${PEER_IP} ${PEER_MAC}`);
    if (macToString(d.eth.dst) !== PEER_MAC) throw new Mismatch(`ARP reply Ethernet destination ${macToString(d.eth.dst)}, expected unicast ${PEER_MAC}`);
  }

  private checkTcp(f: Flow, pkt: TcpPacketSpec, t: TcpSegment): void {
    const fail = (msg: string): never => {
      throw new Mismatch(msg);
    };
    if (t.dstPort !== f.rport) fail(`TCP destination port ${t.dstPort}, expected ${f.rport}`);
    if (f.lportKnown && t.srcPort !== f.lport) fail(`TCP source port ${t.srcPort}, expected ${f.lport}`);
    // RFC 1122 4.2.2.2: PSH placement is the sender's choice, except that the segment that
    // empties the send queue MUST carry it. So a script's `P` requires PSH, and a line
    // without `P` accepts a segment with or without it.
    const want = pkt.flags & TCP_PSH ? pkt.flags : pkt.flags | (t.flags & TCP_PSH);
    if (t.flags !== want) fail(`flags ${tcpFlagsToString(t.flags)}, expected ${tcpFlagsToString(pkt.flags)}`);
    let isn = f.sutIsn;
    if (isn === undefined && (t.flags & TCP_SYN) !== 0) isn = (t.seq - pkt.start) >>> 0;
    const base = isn ?? 0;
    const relSeq = (t.seq - base) | 0;
    const len = t.payload.length;
    if (relSeq !== pkt.start || len !== pkt.end - pkt.start) {
      fail(`seq ${relSeq}:${relSeq + len}(${len}), expected ${pkt.start}:${pkt.end}(${pkt.end - pkt.start})`);
    }
    if ((t.flags & TCP_ACK) !== 0 && pkt.ack !== undefined) {
      const relAck = (t.ack - f.peerIsn) | 0;
      if (relAck !== pkt.ack) fail(`ack ${relAck}, expected ${pkt.ack}`);
    }
    this.checkWin(pkt.win, t.win);
    this.checkOptions(pkt.options, t.options, f);
    // Payload: every byte must be the writer's pattern at its stream offset.
    if (len > 0 && isn !== undefined) {
      const off = pkt.start - 1;
      for (let i = 0; i < len; i++) {
        if (t.payload[i] !== patternByte(off + i)) fail(`payload byte at relative seq ${pkt.start + i} is not what the application wrote`);
      }
    }
    // Only now commit what this packet taught us.
    f.lport = t.srcPort;
    f.lportKnown = true;
    if (f.sutIsn === undefined && isn !== undefined && (t.flags & TCP_SYN) !== 0) f.sutIsn = isn;
    for (const o of t.options) if (o.kind === 'ts') f.lastSutTsVal = o.val;
  }

  private checkWin(w: WinSpec, win: number): void {
    if (w.kind === 'any') return;
    if (w.kind === 'eq') {
      this.matchVal(w.v, win, 'window');
      return;
    }
    const ok = w.op === '>' ? win > w.n : w.op === '<' ? win < w.n : w.op === '>=' ? win >= w.n : win <= w.n;
    if (!ok) throw new Mismatch(`window ${win}, expected ${w.op} ${w.n}`);
  }

  /** Compare an observed value with a Val, capturing `$x` on first use. */
  private matchVal(v: Val, got: number, what: string): void {
    if (v.kind === 'any') return;
    if (v.kind === 'num') {
      if ((v.n >>> 0) !== (got >>> 0)) throw new Mismatch(`${what} ${got}, expected ${v.n}`);
      return;
    }
    const c = this.captures.get(v.name);
    if (c === undefined) this.pendingCaptures.set(v.name, got >>> 0);
    else if (c !== got >>> 0) throw new Mismatch(`${what} ${got}, expected $${v.name} = ${c}`);
  }

  /** Captures made while checking one packet; committed only when the whole packet matched. */
  private readonly pendingCaptures = new Map<string, number>();

  commitCaptures(): void {
    for (const [k, v] of this.pendingCaptures) this.captures.set(k, v);
    this.pendingCaptures.clear();
  }

  discardCaptures(): void {
    this.pendingCaptures.clear();
  }

  private checkOptions(spec: OptionsSpec, got: TcpOption[], f: Flow): void {
    if (spec.kind === 'any') return;
    const show = (): string => `<${got.map((o) => optionToString(o, f.peerIsn)).join(',')}>`;
    if (spec.mode === 'exact') {
      const g = got.filter((o, i) => !(o.kind === 'eol' && i === got.length - 1 && spec.opts[spec.opts.length - 1]?.kind !== 'eol'));
      if (g.length !== spec.opts.length) throw new Mismatch(`options ${show()}, expected exactly ${spec.opts.length} entries`);
      spec.opts.forEach((s, i) => this.matchOption(s, g[i]!, f, show));
      return;
    }
    const real = got.filter((o) => o.kind !== 'nop' && o.kind !== 'eol');
    const used = new Set<number>();
    for (const s of spec.opts) {
      if (s.kind === 'nop' || s.kind === 'eol') continue;
      if (s.kind === 'absent') {
        if (real.some((o) => o.kind === s.what)) throw new Mismatch(`options ${show()}: ${s.what} must be absent`);
        continue;
      }
      const idx = real.findIndex((o, i) => !used.has(i) && o.kind === s.kind);
      if (idx < 0) throw new Mismatch(`options ${show()}: missing ${s.kind}`);
      used.add(idx);
      this.matchOption(s, real[idx]!, f, show);
    }
    if (spec.mode === 'set' && used.size !== real.length) {
      throw new Mismatch(`options ${show()}: unexpected ${real.filter((_, i) => !used.has(i)).map((o) => o.kind).join(', ')}`);
    }
  }

  private matchOption(s: OptSpec, o: TcpOption, f: Flow, show: () => string): void {
    if (s.kind === 'absent') return;
    const wantKind = s.kind;
    if (o.kind !== wantKind) throw new Mismatch(`options ${show()}: found ${o.kind} where ${wantKind} was expected`);
    if (s.kind === 'mss' && o.kind === 'mss') this.matchVal(s.v, o.mss, 'mss');
    if (s.kind === 'wscale' && o.kind === 'wscale') this.matchVal(s.v, o.shift, 'wscale');
    if (s.kind === 'ts' && o.kind === 'ts') {
      // The SUT's own TS val: a number in a script is not checked (clocks differ); `$x` captures it.
      if (s.val.kind === 'var') this.matchVal(s.val, o.val, 'TS val');
      this.matchVal(s.ecr, o.ecr, 'TS ecr');
    }
    if (s.kind === 'sack' && o.kind === 'sack') {
      const rel = o.blocks.map(([l, r]) => `${(l - f.peerIsn) | 0}:${(r - f.peerIsn) | 0}`).join(' ');
      const want = s.blocks.map(([l, r]) => `${l}:${r}`).join(' ');
      if (rel !== want) throw new Mismatch(`SACK blocks ${rel}, expected ${want}`);
    }
  }
}

export function optionToString(o: TcpOption, sackBase = 0): string {
  switch (o.kind) {
    case 'mss': return `mss ${o.mss}`;
    case 'wscale': return `wscale ${o.shift}`;
    case 'sackOK': return 'sackOK';
    case 'ts': return `TS val ${o.val} ecr ${o.ecr}`;
    case 'sack': {
      return `sack ${o.blocks.map(([l, r]) => `${(l - sackBase) | 0}:${(r - sackBase) | 0}`).join(' ')}`;
    }
    case 'unknown': return `opt${o.type}`;
    default: return o.kind;
  }
}

/** One line describing a frame, tcpdump-like, with sequence numbers relative where known. */
export function describe(d: Decoded, state: PacketState, dir: 'in' | 'out'): string {
  switch (d.kind) {
    case 'malformed': return `malformed (${d.reason})`;
    case 'other': return `ethertype 0x${d.eth.type.toString(16)}`;
    case 'arp':
      return d.arp.op === 1
        ? `arp who-has ${ipToString(d.arp.tpa)} tell ${ipToString(d.arp.spa)}`
        : `arp reply ${ipToString(d.arp.spa)} is-at ${macToString(d.arp.sha)}`;
    case 'ipv4-other': return `ipv4 proto ${d.ip.proto} ${ipToString(d.ip.src)} > ${ipToString(d.ip.dst)}`;
    case 'udp': return `udp ${d.udp.srcPort} > ${d.udp.dstPort} (${d.udp.payload.length})`;
    case 'icmp': return `icmp type ${d.icmp.type} code ${d.icmp.code} (${d.icmp.body.length})`;
    case 'tcp': {
      const t = d.tcp;
      const f = state.flows.get(dir === 'in' ? t.srcPort : t.dstPort);
      const sb = dir === 'out' ? f?.sutIsn ?? (t.flags & TCP_SYN ? t.seq : 0) : f?.peerIsn ?? 0;
      const ab = dir === 'out' ? f?.peerIsn ?? 0 : f?.sutIsn ?? 0;
      const s = (t.seq - sb) | 0;
      let out = `${t.srcPort} > ${t.dstPort} ${tcpFlagsToString(t.flags)} ${s}:${s + t.payload.length}(${t.payload.length})`;
      if (t.flags & TCP_ACK) out += ` ack ${(t.ack - ab) | 0}`;
      out += ` win ${t.win}`;
      if (t.options.length > 0) out += ` <${t.options.map((o) => optionToString(o, ab)).join(',')}>`;
      return out;
    }
  }
}
