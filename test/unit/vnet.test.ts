/**
 * Offloads without a kernel: the virtio_net_hdr codec (golden bytes), the Ethernet
 * interface's translation between vnet metadata and the IPv4 layer's terms, and whole
 * stacks on virtual time over a link that emulates the kernel behind a TAP with offloads on:
 *
 *   - 'segment': what the kernel does with our frames on the way to a wire. A TSO
 *     super-frame is cut into MSS segments like tcp_gso_segment does (the partial
 *     pseudo-header sum re-based to each segment's length, FIN/PSH on the last only, IP id
 *     incremented) and every partial checksum is completed; the far stack verifies every
 *     checksum, so a wrong partial sum or TSO header loses the data.
 *   - 'pass': what the kernel hands a local receiver: the super-frame whole, with its
 *     virtio_net_hdr (NEEDS_CSUM, gso_type TCPV4), as GRO/GSO frames arrive through a TAP.
 *
 * Under loss, retransmissions must stay MSS-sized plain segments (never a TSO burst).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { readU16, readU32, writeU16, writeU32 } from '../../src/core/bytes.js';
import { SeededRng } from '../../src/core/rng.js';
import { checksum, finish, fold } from '../../src/ip/checksum.js';
import { RxFlag, type Ipv4Receiver, type TxOffload } from '../../src/link/device.js';
import type { ImpairOptions } from '../../src/link/impair.js';
import { EthernetInterface } from '../../src/link/interface.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import { SimNetwork } from '../../src/link/sim.js';
import {
  asOffloadLink,
  decodeVnetHeader,
  encodeVnetHeader,
  NO_OFFLOADS,
  VNET_HDR_LEN,
  VNET_HDR_LEN_MRG,
  VnetFlag,
  VnetGso,
  VnetHeader,
  type LinkOffloads,
  type OffloadLink,
  type OffloadReceiver,
} from '../../src/link/vnet.js';
import { Stack } from '../../src/stack.js';
import type { TcpConnection } from '../../src/tcp/api.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('virtio_net_hdr codec', () => {
  it('encodes a TSO header as the kernel lays it out (little-endian 16-bit fields)', () => {
    const h = new VnetHeader();
    h.flags = VnetFlag.NEEDS_CSUM;
    h.gsoType = VnetGso.TCPV4;
    h.hdrLen = 66;
    h.gsoSize = 1448;
    h.csumStart = 34;
    h.csumOffset = 16;
    const b = new Uint8Array(VNET_HDR_LEN);
    encodeVnetHeader(b, 0, h);
    // flags 01, gso_type 01, hdr_len 0x0042, gso_size 0x05a8, csum_start 0x0022, csum_offset 0x0010
    expect(hex(b)).toBe('0101' + '4200' + 'a805' + '2200' + '1000');
    expect({ ...decodeVnetHeader(b, 0, new VnetHeader()) }).toEqual({ ...h });
  });

  it('decodes what the kernel hands over: DATA_VALID, and a GSO frame at an offset', () => {
    const b = Uint8Array.from([0xee, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect({ ...decodeVnetHeader(b, 1, new VnetHeader()) }).toEqual({ flags: 2, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
    const g = Uint8Array.from([0x01, 0x01, 0x36, 0x00, 0xb4, 0x05, 0x22, 0x00, 0x10, 0x00]);
    expect({ ...decodeVnetHeader(g, 0, new VnetHeader()) }).toEqual({ flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1460, csumStart: 34, csumOffset: 16 });
  });

  it('writes zeros without metadata, and zeroes num_buffers in the 12-byte form', () => {
    const b = new Uint8Array(14).fill(0xff);
    encodeVnetHeader(b, 1, undefined, VNET_HDR_LEN_MRG);
    expect(hex(b)).toBe('ff' + '00'.repeat(12) + 'ff');
    const h = new VnetHeader();
    h.flags = VnetFlag.NEEDS_CSUM;
    h.csumStart = 0x1234;
    h.csumOffset = 6;
    const c = new Uint8Array(12).fill(0xff);
    encodeVnetHeader(c, 0, h, VNET_HDR_LEN_MRG);
    expect(hex(c)).toBe('0100' + '0000' + '0000' + '3412' + '0600' + '0000');
    expect({ ...h.clear() }).toEqual({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
  });

  it('asOffloadLink tells offload links from plain ones', () => {
    const plain: Link = { mtu: 1500, send: () => true, setReceiver: () => {}, close: () => {} };
    expect(asOffloadLink(plain)).toBeUndefined();
    const ol = new RecordingLink({ csum: true, tso4: true });
    expect(asOffloadLink(ol)).toBe(ol);
  });
});

// ---- the Ethernet interface's translation ---------------------------------------------------

/** A link that records what is sent with its metadata, and injects frames with metadata. */
class RecordingLink implements OffloadLink {
  readonly mtu = 1500;
  readonly sent: { frame: Uint8Array; vnet: VnetHeader | undefined }[] = [];
  readonly calls: boolean[] = [];
  private receiver: OffloadReceiver | undefined;
  private readonly caps: LinkOffloads;

  constructor(caps: LinkOffloads) {
    this.caps = caps;
  }
  setOffloads(on: boolean): LinkOffloads {
    this.calls.push(on);
    return on ? this.caps : NO_OFFLOADS;
  }
  send(frame: Uint8Array, vnet?: VnetHeader): boolean {
    this.sent.push({ frame: frame.slice(), vnet: vnet === undefined ? undefined : Object.assign(new VnetHeader(), vnet) });
    return true;
  }
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  close(): void {}
  inject(frame: Uint8Array, vnet?: VnetHeader): void {
    this.receiver!.receive(frame, vnet);
  }
}

class FakeIp implements Ipv4Receiver {
  readonly got: { len: number; flags: number }[] = [];
  receive(datagram: Uint8Array, _linkBroadcast?: boolean, rxFlags?: number): void {
    this.got.push({ len: datagram.length, flags: rxFlags ?? 0 });
  }
  resolutionFailed(): void {}
  batchEnd(): void {}
}

const MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);

function iface(caps: LinkOffloads, offload?: boolean) {
  const link = new RecordingLink(caps);
  const ifc = new EthernetInterface({ link, mac: MAC, clock: new ManualClock(0), ...(offload !== undefined ? { offload } : {}) });
  ifc.setIpv4Address(0x0a4d0001);
  const ip = new FakeIp();
  ifc.setIpv4Receiver(ip);
  return { link, ifc, ip };
}

/** An Ethernet + IPv4 (IHL `ihlWords`) + TCP (20 + opts) frame with `payload` octets, to our MAC. */
function tcpFrame(payload: number, ihlWords = 5, tcpOpts = 0): Uint8Array {
  const ihl = ihlWords * 4;
  const f = new Uint8Array(14 + ihl + 20 + tcpOpts + payload);
  f.set(MAC, 0);
  f.set(PEER_MAC, 6);
  writeU16(f, 12, 0x0800);
  f[14] = 0x40 | ihlWords;
  writeU16(f, 16, ihl + 20 + tcpOpts + payload);
  f[22] = 64;
  f[23] = 6;
  f[14 + ihl + 12] = ((20 + tcpOpts) / 4) << 4;
  return f;
}

describe('EthernetInterface offloads', () => {
  it('turns the link offloads on by default and reports them to IPv4', () => {
    const { link, ifc } = iface({ csum: true, tso4: true });
    expect(link.calls).toEqual([true]);
    expect(ifc.offloads).toEqual({ csum: true, tsoMaxSize: 65535 });
    const csumOnly = iface({ csum: true, tso4: false });
    expect(csumOnly.ifc.offloads).toEqual({ csum: true, tsoMaxSize: 0 });
    expect(iface(NO_OFFLOADS).ifc.offloads).toBeUndefined();
    const off = iface({ csum: true, tso4: true }, false);
    expect(off.link.calls).toEqual([]);
    expect(off.ifc.offloads).toBeUndefined();
  });

  it('maps a TSO request to NEEDS_CSUM + GSO_TCPV4 with the headers every segment repeats', () => {
    const { link, ifc } = iface({ csum: true, tso4: true });
    // IPv4 with 20 bytes, TCP with 32 (timestamps), 3 x 1448 of payload.
    const dgram = tcpFrame(3 * 1448, 5, 12).subarray(14);
    ifc.txFrame.set(dgram, ifc.headroom);
    const tso: TxOffload = { csumStart: 20, csumOffset: 16, gsoSize: 1448 };
    expect(ifc.sendIpv4(0xffffffff, dgram.length, tso)).toBeUndefined();
    const s = link.sent.at(-1)!;
    expect(s.frame.length).toBe(14 + dgram.length);
    const b = new Uint8Array(VNET_HDR_LEN);
    encodeVnetHeader(b, 0, s.vnet);
    // NEEDS_CSUM, TCPV4, hdr_len 14+20+32 = 66, gso_size 1448, csum_start 34, csum_offset 16.
    expect(hex(b)).toBe('0101' + '4200' + 'a805' + '2200' + '1000');
    // Checksum offload alone: no GSO, hdr_len covers the checksum field.
    expect(ifc.sendIpv4(0xffffffff, dgram.length, { csumStart: 20, csumOffset: 16, gsoSize: 0 })).toBeUndefined();
    encodeVnetHeader(b, 0, link.sent.at(-1)!.vnet);
    expect(hex(b)).toBe('0100' + '3400' + '0000' + '2200' + '1000'); // hdr_len 34 + 16 + 2
    // No request: no metadata (the link writes a zeroed header).
    expect(ifc.sendIpv4(0xffffffff, dgram.length)).toBeUndefined();
    expect(link.sent.at(-1)!.vnet).toBeUndefined();
    const st = ifc.stats();
    expect([st.txGso, st.txCsumPartial, st.txFrames]).toEqual([1, 2, 3]);
  });

  it('turns an offloaded send to an unresolved next hop back (EAGAIN) without queueing it', () => {
    const { link, ifc } = iface({ csum: true, tso4: true });
    const dgram = tcpFrame(100).subarray(14);
    ifc.txFrame.set(dgram, ifc.headroom);
    expect(ifc.sendIpv4(0x0a4d0002, dgram.length, { csumStart: 20, csumOffset: 16, gsoSize: 0 })).toBe('EAGAIN');
    expect(link.sent).toHaveLength(0); // not even an ARP request: the plain resend triggers it
    expect(ifc.stats().txOffloadDeferred).toBe(1);
    expect(ifc.stats().txQueued).toBe(0);
    // TSO asked of a link without it: also EAGAIN.
    const c = iface({ csum: true, tso4: false });
    c.ifc.txFrame.set(dgram, c.ifc.headroom);
    expect(c.ifc.sendIpv4(0xffffffff, dgram.length, { csumStart: 20, csumOffset: 16, gsoSize: 1448 })).toBe('EAGAIN');
    expect(c.ifc.sendIpv4(0xffffffff, dgram.length, { csumStart: 20, csumOffset: 16, gsoSize: 0 })).toBeUndefined();
  });

  it('hands RX metadata to IPv4 as RxFlag bits, trusting NEEDS_CSUM only at the transport header', () => {
    const { link, ip, ifc } = iface({ csum: true, tso4: true });
    const v = new VnetHeader();
    link.inject(tcpFrame(10));
    link.inject(tcpFrame(10), v.clear());
    v.flags = VnetFlag.DATA_VALID;
    link.inject(tcpFrame(10), v);
    v.clear().flags = VnetFlag.NEEDS_CSUM;
    v.csumStart = 34;
    v.csumOffset = 16;
    link.inject(tcpFrame(10), v);
    // IPv4 options: the transport header is at 14 + 24.
    link.inject(tcpFrame(10, 6), v);
    v.csumStart = 38;
    link.inject(tcpFrame(10, 6), v);
    v.gsoType = VnetGso.TCPV4;
    v.gsoSize = 1448;
    v.csumStart = 34;
    link.inject(tcpFrame(5 * 1448), v);
    expect(ip.got.map((g) => g.flags)).toEqual([0, 0, RxFlag.CSUM_VERIFIED, RxFlag.CSUM_VERIFIED, 0, RxFlag.CSUM_VERIFIED, RxFlag.CSUM_VERIFIED | RxFlag.GSO]);
    expect(ip.got.at(-1)!.len).toBe(20 + 20 + 5 * 1448);
    expect(ifc.stats().rxCsumTrusted).toBe(4);
    expect(ifc.stats().rxGso).toBe(1);
  });
});

// ---- whole stacks over an emulated kernel ---------------------------------------------------

type Mode = 'segment' | 'pass';

/** What one end offered its link: data frames, super-frames, and retransmission checks. */
interface Observed {
  dataFrames: number;
  gsoFrames: number;
  gsoSizes: Set<number>;
  maxGsoPayload: number;
  retransmitted: number;
  /** Retransmissions that were TSO bursts or longer than the MSS (must stay 0). */
  badRetransmits: string[];
  /** Super-frames whose payload is not whole MSS segments plus a tail ending with PSH/FIN. */
  badBursts: string[];
}

/**
 * The kernel behind a TAP with offloads on, over a SimNetwork cable. TX (`send`): in
 * 'segment' mode super-frames are cut and checksums completed as on the way to a wire; in
 * 'pass' mode frames cross whole with their virtio_net_hdr in front. RX hands the far
 * side's frames up with the metadata ('pass') or plain ('segment').
 */
class KernelEmu implements OffloadLink {
  readonly mtu = 1500;
  readonly seen: Observed = { dataFrames: 0, gsoFrames: 0, gsoSizes: new Set(), maxGsoPayload: 0, retransmitted: 0, badRetransmits: [], badBursts: [] };
  private readonly inner: Link;
  private readonly mode: Mode;
  private readonly rxVnet = new VnetHeader();
  private highest: number | undefined;
  private mss = 0;

  constructor(inner: Link, mode: Mode) {
    this.inner = inner;
    this.mode = mode;
  }
  setOffloads(on: boolean): LinkOffloads {
    return on ? { csum: true, tso4: true } : NO_OFFLOADS;
  }
  send(frame: Uint8Array, vnet?: VnetHeader): boolean {
    this.observe(frame, vnet);
    if (this.mode === 'pass') {
      const f = new Uint8Array(VNET_HDR_LEN + frame.length);
      encodeVnetHeader(f, 0, vnet);
      f.set(frame, VNET_HDR_LEN);
      return this.inner.send(f);
    }
    for (const f of kernelOutput(frame, vnet)) this.inner.send(f);
    return true;
  }
  setReceiver(r: LinkReceiver): void {
    const pass = this.mode === 'pass';
    this.inner.setReceiver({
      receive: (f) => (pass ? (r as OffloadReceiver).receive(f.subarray(VNET_HDR_LEN), decodeVnetHeader(f, 0, this.rxVnet)) : r.receive(f)),
      batchEnd: () => r.batchEnd?.(),
    });
  }
  close(): void {
    this.inner.close();
  }

  private observe(frame: Uint8Array, vnet: VnetHeader | undefined): void {
    if (readU16(frame, 12) !== 0x0800 || frame[23] !== 6) return;
    const ihl = (frame[14]! & 15) * 4;
    const t = 14 + ihl;
    const thl = (frame[t + 12]! >>> 4) * 4;
    const payload = readU16(frame, 16) - ihl - thl;
    if (payload <= 0) return;
    const sq = readU32(frame, t + 4);
    const flags = frame[t + 13]!;
    const gso = vnet !== undefined && vnet.gsoType === VnetGso.TCPV4;
    const s = this.seen;
    s.dataFrames++;
    if (!gso) this.mss = Math.max(this.mss, payload);
    if (gso) {
      s.gsoFrames++;
      s.gsoSizes.add(vnet.gsoSize);
      s.maxGsoPayload = Math.max(s.maxGsoPayload, payload);
      // Whole MSS segments, or a short tail only on the segment that empties the buffer (PSH/FIN).
      if (payload % vnet.gsoSize !== 0 && !(flags & 0x09)) s.badBursts.push(`seq ${sq}: ${payload} bytes, gso ${vnet.gsoSize}`);
    }
    if (this.highest !== undefined && ((sq - this.highest) | 0) < 0) {
      s.retransmitted++;
      if (gso || (this.mss > 0 && payload > this.mss)) s.badRetransmits.push(`seq ${sq}: ${payload} bytes${gso ? ' as TSO' : ''}`);
    }
    const end = (sq + payload) >>> 0;
    if (this.highest === undefined || ((end - this.highest) | 0) > 0) this.highest = end;
  }
}

/**
 * The kernel's TX path for one frame with its virtio_net_hdr: tcp_gso_segment for a TCPV4
 * super-frame (headers copied, IP total length and id per segment, seq advanced, FIN/PSH
 * only on the last, the partial sum re-based from the whole TCP length to the segment's),
 * then the checksum completed from csum_start like skb_checksum_help.
 */
function kernelOutput(frame: Uint8Array, vnet: VnetHeader | undefined): Uint8Array[] {
  if (vnet === undefined || !(vnet.flags & VnetFlag.NEEDS_CSUM)) return [frame.slice()];
  const l4 = vnet.csumStart;
  const field = l4 + vnet.csumOffset;
  const complete = (f: Uint8Array): Uint8Array => {
    writeU16(f, field, finish(checksum(f, 0, l4, f.length - l4)));
    return f;
  };
  const thl = (frame[l4 + 12]! >>> 4) * 4;
  const hdrs = l4 + thl;
  const payload = frame.length - hdrs;
  if (vnet.gsoType !== VnetGso.TCPV4 || payload <= vnet.gsoSize) return [complete(frame.slice())];
  const mss = vnet.gsoSize;
  const fullLen = frame.length - l4;
  const partial = readU16(frame, field);
  const id0 = readU16(frame, 18);
  const seq0 = readU32(frame, l4 + 4);
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < payload; off += mss, i++) {
    const n = Math.min(mss, payload - off);
    const last = off + n >= payload;
    const f = new Uint8Array(hdrs + n);
    f.set(frame.subarray(0, hdrs));
    f.set(frame.subarray(hdrs + off, hdrs + off + n), hdrs);
    writeU16(f, 16, f.length - 14);
    writeU16(f, 18, (id0 + i) & 0xffff);
    writeU16(f, 24, 0);
    writeU16(f, 24, finish(checksum(f, 0, 14, l4 - 14)));
    writeU32(f, l4 + 4, (seq0 + off) >>> 0);
    if (!last) f[l4 + 13] = f[l4 + 13]! & ~0x09;
    // tcp_gso_segment: check = partial + ~oldlen + (thlen + mss), ones' complement.
    writeU16(f, field, fold(partial + (~fullLen & 0xffff) + thl + n));
    out.push(complete(f));
  }
  return out;
}

interface Run {
  ok: boolean;
  tx: string;
  rx: string;
  a: Stack;
  b: Stack;
  linkA: KernelEmu;
  linkB: KernelEmu;
}

/**
 * A sends `size` pseudo-random bytes to B and closes; B reads to EOF. `midway` runs once
 * when half the data was written.
 */
function transfer(seed: number, mode: Mode, size: number, impair?: ImpairOptions, midway?: (a: Stack) => void): Run {
  const net = new SimNetwork({ seed });
  const [wa, wb] = net.linkPair({ delayMs: 1, mtu: 70_000, ...(impair !== undefined ? { impair } : {}) });
  const linkA = new KernelEmu(wa, mode);
  const linkB = new KernelEmu(wb, mode);
  const a = new Stack({ link: linkA, clock: net.clock, rng: new SeededRng(seed + 1), addr: '10.77.0.1/24' });
  const b = new Stack({ link: linkB, clock: net.clock, rng: new SeededRng(seed + 2), addr: '10.77.0.2/24' });
  const l = b.tcp.listen(0, 80, 8);
  if (typeof l === 'string') throw new Error(l);
  const tx = createHash('sha256');
  const rx = createHash('sha256');
  const gen = new SeededRng(seed);
  const chunk = new Uint8Array(100_000);
  const buf = new Uint8Array(65536);
  let written = 0;
  let pend = 0;
  let off = 0;
  let received = 0;
  let eof = false;
  let halfway = false;
  const errors: string[] = [];
  let client: TcpConnection | undefined;
  const pump = (): void => {
    const c = client!;
    while (written < size) {
      if (pend === 0) {
        pend = Math.min(chunk.length, size - written);
        for (let i = 0; i < pend; i++) chunk[i] = gen.nextU32() & 0xff;
        off = 0;
      }
      const m = c.write(chunk.subarray(off, off + pend));
      if (m <= 0) return;
      tx.update(chunk.subarray(off, off + m));
      off += m;
      pend -= m;
      written += m;
      if (!halfway && written >= size / 2 && midway !== undefined) {
        halfway = true;
        midway(a);
      }
    }
    c.close();
  };
  l.setHandler({
    acceptable: () => {
      const c = l.accept()!;
      const drain = (): void => {
        for (let n = c.read(buf); n > 0; n = c.read(buf)) {
          rx.update(buf.subarray(0, n));
          received += n;
        }
        if (c.eof && !eof) {
          eof = true;
          c.close();
        }
      };
      c.setHandler({ connected: drain, readable: drain, writable: drain, error: (e) => errors.push(`server ${e}`), closed: () => {} });
      drain();
    },
  });
  const c = a.tcp.connect(0, 0, 0x0a4d0002, 80, { connected: pump, readable: () => {}, writable: pump, error: (e) => errors.push(`client ${e}`), closed: () => {} });
  if (typeof c === 'string') throw new Error(c);
  client = c;
  net.runUntil(() => (eof && received === size) || errors.length > 0, 5_000_000, 600_000);
  expect(errors).toEqual([]);
  a.close();
  b.close();
  return { ok: received === size, tx: tx.digest('hex'), rx: rx.digest('hex'), a, b, linkA, linkB };
}

describe('TSO / GRO between two stacks over an emulated kernel (virtual time)', () => {
  it("'segment': 4 MB in TSO super-frames the kernel cuts and checksums; the far end verifies every checksum", () => {
    const r = transfer(11, 'segment', 4 << 20);
    expect(r.ok).toBe(true);
    expect(r.rx).toBe(r.tx);
    const s = r.linkA.seen;
    expect(s.gsoFrames).toBeGreaterThan(20);
    expect([...s.gsoSizes]).toEqual([1448]); // MSS 1460 minus the timestamps option
    expect(s.maxGsoPayload).toBeGreaterThan(40 * 1448);
    expect(s.maxGsoPayload).toBeLessThanOrEqual(65535 - 20 - 32);
    expect(s.badBursts).toEqual([]);
    expect(r.b.tcp.stats().InCsumErrors).toBe(0);
    expect(r.a.tcp.stats().RetransSegs).toBe(0);
    // OutSegs counts what reaches the wire: at least one segment per 1448 bytes.
    expect(r.a.tcp.stats().OutSegs).toBeGreaterThanOrEqual(Math.ceil((4 << 20) / 1448));
    expect(r.a.device.stats().txGso).toBe(s.gsoFrames);
    // B received plain frames only (the "kernel" segmented them) and checked their checksums.
    expect(r.b.device.stats().rxGso).toBe(0);
    expect(r.b.device.stats().rxCsumTrusted).toBe(0);
  });

  it("'pass': 4 MB arriving as super-frames with partial checksums (GRO through a TAP) are taken whole and ACKed at once", () => {
    const r = transfer(12, 'pass', 4 << 20);
    expect(r.ok).toBe(true);
    expect(r.rx).toBe(r.tx);
    const bs = r.b.device.stats();
    expect(bs.rxGso).toBe(r.linkA.seen.gsoFrames);
    expect(bs.rxGso).toBeGreaterThan(20);
    expect(bs.rxCsumTrusted).toBeGreaterThan(bs.rxGso);
    const bt = r.b.tcp.stats();
    expect(bt.InCsumErrors).toBe(0);
    // One ACK per super-segment at most (quick ACKs at batch end), not one per 2 MSS.
    expect(bt.OutSegs).toBeLessThan(r.a.tcp.stats().OutSegs / 4);
  });

  for (const mode of ['segment', 'pass'] as const) {
    for (const seed of [21, 22]) {
      it(`'${mode}' with 2% loss and reordering (seed ${seed}): intact, and every retransmission is a plain MSS-sized segment`, () => {
        const r = transfer(seed, mode, 2 << 20, { loss: 0.02, reorder: 0.02, reorderDelayMs: 3, jitterMs: 0.5 });
        expect(r.ok).toBe(true);
        expect(r.rx).toBe(r.tx);
        const s = r.linkA.seen;
        expect(s.gsoFrames).toBeGreaterThan(0);
        expect(s.retransmitted).toBeGreaterThan(0);
        expect(r.a.tcp.stats().RetransSegs).toBeGreaterThan(0);
        expect(s.badRetransmits).toEqual([]);
        expect(s.badBursts).toEqual([]);
      });
    }
  }

  it("'segment' with corruption: bad checksums are caught (the link vouches for nothing here)", () => {
    const r = transfer(31, 'segment', 1 << 20, { corrupt: 0.02 });
    expect(r.ok).toBe(true);
    expect(r.rx).toBe(r.tx);
    expect(r.a.tcp.stats().InCsumErrors + r.b.tcp.stats().InCsumErrors).toBeGreaterThan(0);
  });

  it('an unresolved next hop mid-transfer: TSO bursts fall back to plain segments (EAGAIN), nothing is lost for good', () => {
    const r = transfer(41, 'segment', 2 << 20, undefined, (a) => a.device.arp.clear());
    expect(r.ok).toBe(true);
    expect(r.rx).toBe(r.tx);
    expect(r.a.device.stats().txOffloadDeferred).toBeGreaterThan(0);
    expect(r.linkA.seen.gsoFrames).toBeGreaterThan(0);
  });

  it('a super-segment of less than two full segments is still ACKed at once; a lone short segment waits for the delayed ACK', () => {
    const net = new SimNetwork({ seed: 7 });
    const [wa, wb] = net.linkPair({ delayMs: 1, mtu: 70_000 });
    const linkA = new KernelEmu(wa, 'pass');
    const a = new Stack({ link: linkA, clock: net.clock, rng: new SeededRng(8), addr: '10.77.0.1/24' });
    const b = new Stack({ link: new KernelEmu(wb, 'pass'), clock: net.clock, rng: new SeededRng(9), addr: '10.77.0.2/24' });
    const l = b.tcp.listen(0, 82, 1);
    if (typeof l === 'string') throw new Error(l);
    const noop = (): void => {};
    // B never reads: no window update can carry an early ACK; only the ACK policy speaks.
    l.setHandler({ acceptable: () => l.accept()!.setHandler({ connected: noop, readable: noop, writable: noop, error: noop, closed: noop }) });
    const c = a.tcp.connect(0, 0, 0x0a4d0002, 82, { connected: noop, readable: noop, writable: noop, error: noop, closed: noop }, { noDelay: true });
    if (typeof c === 'string') throw new Error(c);
    net.runUntil(() => c.state === 'ESTABLISHED' && l.pendingCount === 0, 10_000, 5_000);
    net.clock.advance(1000); // let the handshake's ACKs settle
    /** Write n bytes; virtual ms until all of it is acknowledged. */
    const ackDelay = (n: number): number => {
      const t0 = net.clock.now();
      expect(c.write(new Uint8Array(n))).toBe(n);
      net.runUntil(() => c.info().bytesInFlight === 0, 100_000, 5_000);
      return net.clock.now() - t0;
    };
    const gsoBefore = linkA.seen.gsoFrames;
    // 1448 + 100: a TSO super-segment (all queued data, Nagle off), two segments on a wire.
    expect(ackDelay(1548)).toBeLessThan(10);
    expect(linkA.seen.gsoFrames).toBe(gsoBefore + 1);
    // A single short segment: RFC 1122 4.2.3.2 lets the receiver delay its ACK.
    expect(ackDelay(100)).toBeGreaterThanOrEqual(40);
    a.close();
    b.close();
  });

  it('to its own address a stack sends complete checksums (loopback never offloads)', () => {
    const net = new SimNetwork({ seed: 5 });
    const [wa] = net.linkPair({ mtu: 70_000 });
    const link = new KernelEmu(wa, 'segment');
    const a = new Stack({ link, clock: net.clock, rng: new SeededRng(6), addr: '10.77.0.1/24' });
    const l = a.tcp.listen(0, 81, 1);
    if (typeof l === 'string') throw new Error(l);
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    let got = 0;
    const sink = new Uint8Array(65536);
    l.setHandler({
      acceptable: () => {
        const s = l.accept()!;
        const rd = (): void => {
          for (let n = s.read(sink); n > 0; n = s.read(sink)) got += n;
        };
        s.setHandler({ connected: rd, readable: rd, writable: () => {}, error: () => {}, closed: () => {} });
      },
    });
    let sent = 0;
    const c = a.tcp.connect(0, 0, 0x0a4d0001, 81, {
      connected: () => (sent += c2().write(data)),
      readable: () => {},
      writable: () => {
        if (sent < data.length) sent += c2().write(data.subarray(sent));
      },
      error: () => {},
      closed: () => {},
    });
    if (typeof c === 'string') throw new Error(c);
    const c2 = (): TcpConnection => c;
    net.runUntil(() => got === data.length, 100_000, 60_000);
    expect(a.tcp.stats().InCsumErrors).toBe(0);
    expect(link.seen.dataFrames).toBe(0); // nothing left through the link
    expect(a.device.stats().txCsumPartial).toBe(0);
    a.close();
  });
});
