/**
 * Zero-copy transmit: EthernetInterface (and IPv4 above it) building frames directly in the
 * transmit slot a TxBufferLink lends, as TapLink lends its TX ring slots. The fake link here
 * is a FrameRing producer exactly like TapLink's (reserveIndex/commit for lent slots, push for
 * copies, which takes a lent slot), and the test is the consumer that reads what was queued.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { ARP_LEN, ArpOp, emitArp } from '../../src/link/arp.js';
import { EtherType, emitEthernetHeader } from '../../src/link/ethernet.js';
import { EthernetInterface, type TxBufferLink } from '../../src/link/interface.js';
import type { LinkReceiver } from '../../src/link/link.js';
import { FrameRing } from '../../src/link/ring.js';
import { Ipv4Layer } from '../../src/ip/layer.js';
import { Ipv4Packet } from '../../src/ip/ipv4.js';
import { IpProto } from '../../src/ip/types.js';

const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 1);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 2);
const IP_A = 0x0a4d0001;
const IP_B = 0x0a4d0002;
const SLOT = 65536 + 64;

/** A TxBufferLink over a FrameRing, with TapLink's producer behaviour (but a new view per call). */
class LendingLink implements TxBufferLink {
  readonly mtu = 1500;
  readonly ring: FrameRing;
  receiver: LinkReceiver | undefined;
  lent = -1;
  copies = 0;
  inPlace = 0;
  constructor(slots = 4) {
    this.ring = FrameRing.create({ slots, slotSize: SLOT, shared: false });
  }
  txBuffer(): Uint8Array | undefined {
    if (this.lent >= 0 && this.ring.reserved) return this.view(this.lent);
    const i = this.ring.reserveIndex();
    if (i < 0) return undefined;
    this.lent = i;
    return this.view(i);
  }
  private view(i: number): Uint8Array {
    const off = this.ring.dataOffset(i);
    return this.ring.bytes.subarray(off, off + this.ring.frameCapacity);
  }
  sendTxBuffer(len: number): boolean {
    if (this.lent < 0) return false;
    this.lent = -1;
    this.inPlace++;
    return this.ring.commit(len);
  }
  send(frame: Uint8Array): boolean {
    this.lent = -1;
    this.copies++;
    return this.ring.push(frame);
  }
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  close(): void {}
  /** Everything queued, as copies, oldest first. */
  take(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.ring.drain((f) => out.push(f.slice()));
    return out;
  }
}

function arpReplyFromB(): Uint8Array {
  const f = new Uint8Array(14 + ARP_LEN);
  emitEthernetHeader(f, 0, MAC_A, MAC_B, EtherType.ARP);
  emitArp(f, 14, ArpOp.REPLY, MAC_B, IP_B, MAC_A, IP_A);
  return f;
}

function setup(slots = 4) {
  const clock = new ManualClock(0);
  const link = new LendingLink(slots);
  const ifc = new EthernetInterface({ link, mac: MAC_A, clock });
  ifc.setIpv4Address(IP_A);
  const got: number[][] = [];
  ifc.setIpv4Receiver({ receive: (d) => void got.push([...d]), resolutionFailed: () => {}, batchEnd: () => {} });
  return { clock, link, ifc, got };
}

/** Resolve B: a datagram waits for ARP (its request is a copy), B's reply releases it (a copy). */
function resolveB(s: ReturnType<typeof setup>): void {
  const buf = s.ifc.txFrame;
  buf.set([0x45, 0, 0, 1], s.ifc.headroom);
  expect(s.ifc.sendIpv4(IP_B, 4)).toBeUndefined();
  expect(s.ifc.counters.txQueued).toBe(1);
  s.link.receiver!.receive(arpReplyFromB());
  const frames = s.link.take();
  expect(frames.map((f) => (f[12]! << 8) | f[13]!)).toEqual([EtherType.ARP, EtherType.IPv4]);
  expect([...frames[1]!.subarray(14)]).toEqual([0x45, 0, 0, 1]);
}

describe('zero-copy TX through a TxBufferLink', () => {
  it('txFrame is the lent slot; sendIpv4 publishes it in place with the Ethernet header, no copy', () => {
    const s = setup();
    resolveB(s);
    const copiesBefore = s.link.copies;
    const buf = s.ifc.txFrame;
    expect(buf.buffer).toBe(s.link.ring.buffer);
    expect(s.ifc.txFrame.byteOffset).toBe(buf.byteOffset); // the same slot until a frame is sent
    const payload = Array.from({ length: 1000 }, (_, i) => i & 0xff);
    buf.set(payload, s.ifc.headroom);
    expect(s.ifc.sendIpv4(IP_B, payload.length)).toBeUndefined();
    expect(s.link.copies).toBe(copiesBefore);
    expect(s.link.inPlace).toBe(1);
    const [f] = s.link.take();
    expect([...f!.subarray(0, 6)]).toEqual([...MAC_B]);
    expect([...f!.subarray(6, 12)]).toEqual([...MAC_A]);
    expect((f![12]! << 8) | f![13]!).toBe(EtherType.IPv4);
    expect([...f!.subarray(14)]).toEqual(payload);
    expect(s.ifc.counters.txFrames).toBe(3);
    // The next frame gets the next slot.
    expect(s.ifc.txFrame.byteOffset).not.toBe(buf.byteOffset);
  });

  it('when the link has no slot to lend, frames are built in our own buffer and copied', () => {
    const s = setup(2);
    resolveB(s);
    // Fill the ring: two frames in place, nobody drains.
    for (let i = 0; i < 2; i++) {
      s.ifc.txFrame.set([0x45, i], s.ifc.headroom);
      expect(s.ifc.sendIpv4(IP_B, 2)).toBeUndefined();
    }
    const own = s.ifc.txFrame;
    expect(own.buffer).not.toBe(s.link.ring.buffer);
    own.set([0x45, 9], s.ifc.headroom);
    // The copy path: the link refuses (ring full) and the interface counts it.
    expect(s.ifc.sendIpv4(IP_B, 2)).toBe('ENOBUFS');
    expect(s.ifc.counters.txDropLink).toBe(1);
    expect(s.link.take().map((f) => f[15])).toEqual([0, 1]);
    // Room again: back to lent slots.
    expect(s.ifc.txFrame.buffer).toBe(s.link.ring.buffer);
  });

  it('a frame sent while a slot is lent takes the slot: the datagram built there is dropped, counted, never sent half-built', () => {
    const s = setup();
    resolveB(s);
    const buf = s.ifc.txFrame;
    buf.set([0x45, 7, 7, 7], s.ifc.headroom);
    // Another frame (an ARP request, say) goes out through send() in between.
    expect(s.link.send(Uint8Array.of(1, 2, 3))).toBe(true);
    expect(s.ifc.sendIpv4(IP_B, 4)).toBe('ENOBUFS');
    expect(s.ifc.counters.txDropNoBuffer).toBe(1);
    expect(s.link.take().map((f) => [...f])).toEqual([[1, 2, 3]]);
  });

  it('IPv4 over a lending link: datagrams and their fragments leave intact (a fragment copy must not clobber the source)', () => {
    const s = setup(8);
    resolveB(s);
    const ip = new Ipv4Layer({ device: s.ifc, clock: s.clock, rng: new SeededRng(1), addr: IP_A, prefixLen: 24 });
    // One datagram in place.
    const small = Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff);
    ip.scratch.set(small);
    expect(ip.send(IP_B, IpProto.UDP, small.length)).toBeUndefined();
    // One that needs three fragments (no DF), built in the lent slot.
    const big = Array.from({ length: 3000 }, (_, i) => (i * 13 + (i >> 8)) & 0xff);
    ip.scratch.set(big);
    expect(ip.send(IP_B, IpProto.UDP, big.length)).toBeUndefined();
    const frames = s.link.take();
    const pkts = frames.map((f) => {
      const p = new Ipv4Packet();
      expect(p.reset(f.subarray(14))).toBeUndefined();
      return { off: p.fragmentOffset, mf: p.moreFragments, data: [...p.payload] };
    });
    expect(pkts[0]).toEqual({ off: 0, mf: false, data: small });
    const frags = pkts.slice(1);
    expect(frags.length).toBe(3);
    expect(frags.map((p) => p.mf)).toEqual([true, true, false]);
    const joined: number[] = [];
    for (const p of frags) {
      expect(p.off).toBe(joined.length);
      joined.push(...p.data);
    }
    expect(joined).toEqual(big);
  });
});
