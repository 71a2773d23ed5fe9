/**
 * A small, independent wire codec for the conformance harness: it builds the frames the
 * scripted peer injects and decodes the frames the system under test sends. It shares no
 * code with src/ on purpose: the judge must not inherit the bugs of the judged.
 *
 * Ethernet II, ARP (RFC 826), IPv4 (RFC 791, no options, no fragments), ICMP (RFC 792),
 * UDP (RFC 768) and TCP (RFC 9293) with the options of RFC 9293 / 7323 / 2018.
 */

export const ETH_HDR = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** TCP flag bits (byte 13 of the header). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** TCP option kinds. */
export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERM = 4;
export const OPT_SACK = 5;
export const OPT_TS = 8;

export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; mss: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'ts'; val: number; ecr: number }
  | { kind: 'unknown'; type: number; data: Uint8Array };

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  options: TcpOption[];
  payload: Uint8Array;
}

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export interface IcmpMessage {
  type: number;
  code: number;
  /** Bytes 4..7 of the ICMP header (id/seq for echo, unused/next-hop MTU for errors). */
  rest: number;
  /** Everything after the 8-byte ICMP header (echo data, or the quoted datagram). */
  body: Uint8Array;
}

export interface ArpPacket {
  op: number; // 1 request, 2 reply
  sha: Uint8Array;
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

export interface Ipv4Packet {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  tos: number;
  id: number;
  df: boolean;
  payload: Uint8Array;
  /** The whole datagram (header + payload), a view into the frame. */
  raw: Uint8Array;
}

export type Decoded =
  | { kind: 'arp'; eth: EthInfo; arp: ArpPacket }
  | { kind: 'tcp'; eth: EthInfo; ip: Ipv4Packet; tcp: TcpSegment }
  | { kind: 'udp'; eth: EthInfo; ip: Ipv4Packet; udp: UdpDatagram }
  | { kind: 'icmp'; eth: EthInfo; ip: Ipv4Packet; icmp: IcmpMessage }
  | { kind: 'ipv4-other'; eth: EthInfo; ip: Ipv4Packet }
  | { kind: 'other'; eth: EthInfo }
  | { kind: 'malformed'; reason: string };

export interface EthInfo {
  dst: Uint8Array;
  src: Uint8Array;
  type: number;
}

// ---------------------------------------------------------------- checksums

/** RFC 1071 one's complement sum, folded, not inverted. */
function sum16(bytes: Uint8Array, initial = 0): number {
  let s = initial;
  const n = bytes.length;
  for (let i = 0; i + 1 < n; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (n & 1) s += bytes[n - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return ~sum16(bytes, initial) & 0xffff;
}

function pseudoHeaderSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

// ---------------------------------------------------------------- addresses

export function macToString(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(s: string): Uint8Array {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new Error(`bad MAC ${s}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function ipToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function parseIpv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`bad IPv4 address ${s}`);
  return parts.reduce((a, p) => a * 256 + Number(p), 0) >>> 0;
}

// ---------------------------------------------------------------- building

export function encodeTcpOptions(opts: readonly TcpOption[]): Uint8Array {
  const out: number[] = [];
  for (const o of opts) {
    switch (o.kind) {
      case 'eol': out.push(OPT_EOL); break;
      case 'nop': out.push(OPT_NOP); break;
      case 'mss': out.push(OPT_MSS, 4, (o.mss >> 8) & 255, o.mss & 255); break;
      case 'wscale': out.push(OPT_WSCALE, 3, o.shift & 255); break;
      case 'sackOK': out.push(OPT_SACK_PERM, 2); break;
      case 'sack':
        out.push(OPT_SACK, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) out.push(...u32(l), ...u32(r));
        break;
      case 'ts': out.push(OPT_TS, 10, ...u32(o.val), ...u32(o.ecr)); break;
      case 'unknown': out.push(o.type, 2 + o.data.length, ...o.data); break;
    }
  }
  // RFC 9293 3.1: the header is padded with zeros to a 32-bit boundary (zero = EOL).
  while (out.length % 4 !== 0) out.push(OPT_EOL);
  if (out.length > 40) throw new Error(`TCP options too long (${out.length} bytes, max 40)`);
  return Uint8Array.from(out);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

export interface FrameAddrs {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: number;
  dstIp: number;
}

function ethernet(a: { srcMac: Uint8Array; dstMac: Uint8Array }, type: number, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_HDR + body.length);
  f.set(a.dstMac, 0);
  f.set(a.srcMac, 6);
  f[12] = type >> 8;
  f[13] = type & 255;
  f.set(body, ETH_HDR);
  return f;
}

export function buildIpv4(a: FrameAddrs, proto: number, payload: Uint8Array, opts: { ttl?: number; id?: number; df?: boolean; tos?: number } = {}): Uint8Array {
  const len = 20 + payload.length;
  const ip = new Uint8Array(len);
  const v = new DataView(ip.buffer);
  ip[0] = 0x45;
  ip[1] = opts.tos ?? 0;
  v.setUint16(2, len);
  v.setUint16(4, opts.id ?? 0);
  v.setUint16(6, opts.df === false ? 0 : 0x4000);
  ip[8] = opts.ttl ?? 64;
  ip[9] = proto;
  v.setUint32(12, a.srcIp);
  v.setUint32(16, a.dstIp);
  v.setUint16(10, internetChecksum(ip.subarray(0, 20)));
  ip.set(payload, 20);
  return ethernet(a, ETHERTYPE_IPV4, ip);
}

export function buildTcp(a: FrameAddrs, s: TcpSegment, ipOpts?: { ttl?: number; id?: number }): Uint8Array {
  const opt = encodeTcpOptions(s.options);
  const hlen = 20 + opt.length;
  const seg = new Uint8Array(hlen + s.payload.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, s.srcPort);
  v.setUint16(2, s.dstPort);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, s.ack >>> 0);
  seg[12] = (hlen / 4) << 4;
  seg[13] = s.flags;
  v.setUint16(14, s.win);
  v.setUint16(18, s.urg);
  seg.set(opt, 20);
  seg.set(s.payload, hlen);
  v.setUint16(16, internetChecksum(seg, pseudoHeaderSum(a.srcIp, a.dstIp, PROTO_TCP, seg.length)));
  return buildIpv4(a, PROTO_TCP, seg, ipOpts);
}

export function buildUdp(a: FrameAddrs, d: UdpDatagram): Uint8Array {
  const seg = new Uint8Array(8 + d.payload.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, d.srcPort);
  v.setUint16(2, d.dstPort);
  v.setUint16(4, seg.length);
  seg.set(d.payload, 8);
  // RFC 768: a computed checksum of zero is transmitted as all ones.
  v.setUint16(6, internetChecksum(seg, pseudoHeaderSum(a.srcIp, a.dstIp, PROTO_UDP, seg.length)) || 0xffff);
  return buildIpv4(a, PROTO_UDP, seg);
}

export function buildIcmp(a: FrameAddrs, m: IcmpMessage): Uint8Array {
  const msg = new Uint8Array(8 + m.body.length);
  const v = new DataView(msg.buffer);
  msg[0] = m.type;
  msg[1] = m.code;
  v.setUint32(4, m.rest >>> 0);
  msg.set(m.body, 8);
  v.setUint16(2, internetChecksum(msg));
  return buildIpv4(a, PROTO_ICMP, msg);
}

export function buildArp(a: { srcMac: Uint8Array; dstMac: Uint8Array }, p: ArpPacket): Uint8Array {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  v.setUint16(0, 1); // HTYPE Ethernet
  v.setUint16(2, ETHERTYPE_IPV4);
  b[4] = 6;
  b[5] = 4;
  v.setUint16(6, p.op);
  b.set(p.sha, 8);
  v.setUint32(14, p.spa);
  b.set(p.tha, 18);
  v.setUint32(24, p.tpa);
  return ethernet(a, ETHERTYPE_ARP, b);
}

// ---------------------------------------------------------------- decoding

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function decodeTcpOptions(b: Uint8Array): TcpOption[] | string {
  const out: TcpOption[] = [];
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === OPT_EOL) {
      out.push({ kind: 'eol' });
      break; // RFC 9293 3.2: End of Option List; the rest is padding.
    }
    if (kind === OPT_NOP) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= b.length) return `option ${kind} truncated`;
    const len = b[i + 1]!;
    if (len < 2 || i + len > b.length) return `option ${kind} has bad length ${len}`;
    const d = dv(b.subarray(i, i + len));
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) return `MSS option length ${len}`;
        out.push({ kind: 'mss', mss: d.getUint16(2) });
        break;
      case OPT_WSCALE:
        if (len !== 3) return `wscale option length ${len}`;
        out.push({ kind: 'wscale', shift: d.getUint8(2) });
        break;
      case OPT_SACK_PERM:
        if (len !== 2) return `sackOK option length ${len}`;
        out.push({ kind: 'sackOK' });
        break;
      case OPT_SACK: {
        if ((len - 2) % 8 !== 0) return `SACK option length ${len}`;
        const blocks: Array<[number, number]> = [];
        for (let k = 2; k < len; k += 8) blocks.push([d.getUint32(k), d.getUint32(k + 4)]);
        out.push({ kind: 'sack', blocks });
        break;
      }
      case OPT_TS:
        if (len !== 10) return `TS option length ${len}`;
        out.push({ kind: 'ts', val: d.getUint32(2), ecr: d.getUint32(6) });
        break;
      default:
        out.push({ kind: 'unknown', type: kind, data: b.slice(i + 2, i + len) });
    }
    i += len;
  }
  return out;
}

/** Decode one Ethernet frame completely, verifying every checksum (a bad one is 'malformed'). */
export function decodeFrame(frame: Uint8Array): Decoded {
  if (frame.length < ETH_HDR) return { kind: 'malformed', reason: `frame of ${frame.length} bytes` };
  const eth: EthInfo = { dst: frame.slice(0, 6), src: frame.slice(6, 12), type: (frame[12]! << 8) | frame[13]! };
  const body = frame.subarray(ETH_HDR);
  if (eth.type === ETHERTYPE_ARP) {
    if (body.length < 28) return { kind: 'malformed', reason: 'short ARP' };
    const v = dv(body);
    return {
      kind: 'arp',
      eth,
      arp: { op: v.getUint16(6), sha: body.slice(8, 14), spa: v.getUint32(14), tha: body.slice(18, 24), tpa: v.getUint32(24) },
    };
  }
  if (eth.type !== ETHERTYPE_IPV4) return { kind: 'other', eth };
  if (body.length < 20) return { kind: 'malformed', reason: 'short IPv4 header' };
  const v = dv(body);
  const ihl = (body[0]! & 15) * 4;
  if (body[0]! >> 4 !== 4 || ihl < 20) return { kind: 'malformed', reason: `bad IPv4 version/IHL 0x${body[0]!.toString(16)}` };
  const total = v.getUint16(2);
  if (total < ihl || total > body.length) return { kind: 'malformed', reason: `IPv4 total length ${total} vs ${body.length} bytes` };
  if (internetChecksum(body.subarray(0, ihl)) !== 0) return { kind: 'malformed', reason: 'bad IPv4 header checksum' };
  const flagsFrag = v.getUint16(6);
  const ip: Ipv4Packet = {
    src: v.getUint32(12),
    dst: v.getUint32(16),
    proto: body[9]!,
    ttl: body[8]!,
    tos: body[1]!,
    id: v.getUint16(4),
    df: (flagsFrag & 0x4000) !== 0,
    payload: body.subarray(ihl, total),
    raw: body.subarray(0, total),
  };
  if ((flagsFrag & 0x3fff) !== 0) return { kind: 'ipv4-other', eth, ip }; // a fragment
  const p = ip.payload;
  const pseudo = pseudoHeaderSum(ip.src, ip.dst, ip.proto, p.length);
  if (ip.proto === PROTO_TCP) {
    if (p.length < 20) return { kind: 'malformed', reason: 'short TCP header' };
    const t = dv(p);
    const off = (p[12]! >> 4) * 4;
    if (off < 20 || off > p.length) return { kind: 'malformed', reason: `TCP data offset ${off}` };
    if (internetChecksum(p, pseudo) !== 0) return { kind: 'malformed', reason: 'bad TCP checksum' };
    const options = decodeTcpOptions(p.subarray(20, off));
    if (typeof options === 'string') return { kind: 'malformed', reason: `TCP options: ${options}` };
    return {
      kind: 'tcp',
      eth,
      ip,
      tcp: {
        srcPort: t.getUint16(0),
        dstPort: t.getUint16(2),
        seq: t.getUint32(4),
        ack: t.getUint32(8),
        flags: p[13]!,
        win: t.getUint16(14),
        urg: t.getUint16(18),
        options,
        payload: p.subarray(off),
      },
    };
  }
  if (ip.proto === PROTO_UDP) {
    if (p.length < 8) return { kind: 'malformed', reason: 'short UDP header' };
    const u = dv(p);
    if (u.getUint16(4) !== p.length) return { kind: 'malformed', reason: `UDP length ${u.getUint16(4)} vs ${p.length}` };
    if (u.getUint16(6) !== 0 && internetChecksum(p, pseudo) !== 0) return { kind: 'malformed', reason: 'bad UDP checksum' };
    return { kind: 'udp', eth, ip, udp: { srcPort: u.getUint16(0), dstPort: u.getUint16(2), payload: p.subarray(8) } };
  }
  if (ip.proto === PROTO_ICMP) {
    if (p.length < 8) return { kind: 'malformed', reason: 'short ICMP message' };
    if (internetChecksum(p) !== 0) return { kind: 'malformed', reason: 'bad ICMP checksum' };
    return { kind: 'icmp', eth, ip, icmp: { type: p[0]!, code: p[1]!, rest: dv(p).getUint32(4), body: p.subarray(8) } };
  }
  return { kind: 'ipv4-other', eth, ip };
}

export function tcpFlagsToString(f: number): string {
  let s = '';
  if (f & TCP_SYN) s += 'S';
  if (f & TCP_FIN) s += 'F';
  if (f & TCP_RST) s += 'R';
  if (f & TCP_PSH) s += 'P';
  if (f & TCP_URG) s += 'U';
  if (f & TCP_ECE) s += 'E';
  if (f & TCP_CWR) s += 'W';
  if (f & TCP_ACK) s += '.';
  return s === '' ? '-' : s;
}
