/**
 * The TAP driver against the real kernel, inside a network namespace this file creates
 * and deletes. Skips with a printed reason when TAP/netns are unavailable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, ipIn, linkNames, linkStats, netnsPath, spawnIn, uniqueNetnsName } from '../../src/cli/netns.js';
import { isStackError } from '../../src/core/errno.js';
import type { StackError } from '../../src/core/errno.js';
import { RingLayout } from '../../src/link/ring.js';
import { loadTapAddon, TapLink, TunOffload } from '../../src/link/tap.js';
import { linkMac, macString, tapSkipReason, waitFor } from '../helpers/netns.js';

const skip = tapSkipReason('tap-driver');

const STACK_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
const ETH_ARP = 0x0806;

function ip4(a: number, b: number, c: number, d: number): Uint8Array {
  return Uint8Array.of(a, b, c, d);
}

/** An Ethernet + ARP frame (RFC 826), 42 bytes. */
function arpFrame(op: 1 | 2, ethDst: Uint8Array, sha: Uint8Array, spa: Uint8Array, tha: Uint8Array, tpa: Uint8Array): Uint8Array {
  const f = new Uint8Array(42);
  const dv = new DataView(f.buffer);
  f.set(ethDst, 0);
  f.set(sha, 6);
  dv.setUint16(12, ETH_ARP);
  dv.setUint16(14, 1); // htype Ethernet
  dv.setUint16(16, 0x0800); // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  dv.setUint16(20, op);
  f.set(sha, 22);
  f.set(spa, 28);
  f.set(tha, 32);
  f.set(tpa, 38);
  return f;
}

interface Arp {
  ethDst: string;
  ethSrc: string;
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

/** Parse an ARP-over-Ethernet frame; undefined for anything else (IPv6 ND, MLD...). */
function parseArp(f: Uint8Array): Arp | undefined {
  if (f.length < 42) return undefined;
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (dv.getUint16(12) !== ETH_ARP || dv.getUint16(14) !== 1 || dv.getUint16(16) !== 0x0800 || f[18] !== 6 || f[19] !== 4) return undefined;
  const ip = (o: number): string => [...f.subarray(o, o + 4)].join('.');
  return {
    ethDst: macString(f.subarray(0, 6)),
    ethSrc: macString(f.subarray(6, 12)),
    op: dv.getUint16(20),
    sha: macString(f.subarray(22, 28)),
    spa: ip(28),
    tha: macString(f.subarray(32, 38)),
    tpa: ip(38),
  };
}

function caught(fn: () => unknown): StackError {
  try {
    fn();
  } catch (e) {
    if (isStackError(e)) return e;
    throw e;
  }
  throw new Error('expected a StackError');
}

/** Run ping inside the namespace without blocking the event loop (frames must flow meanwhile). */
function pingIn(ns: string, addr: string): Promise<number | null> {
  const child = spawnIn(ns, 'ping', ['-c', '1', '-W', '1', addr]);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe.skipIf(skip !== undefined)('TAP driver (real kernel)', () => {
  const ns = uniqueNetnsName('tapdrv');
  const ifname = `tdrv${process.pid % 100000}`;
  const open: TapLink[] = [];
  const openTap = (o: Partial<Parameters<typeof TapLink.open>[0]> = {}): TapLink => {
    const l = TapLink.open({ name: ifname, netns: netnsPath(ns), ...o });
    open.push(l);
    return l;
  };

  beforeAll(() => {
    createNetns(ns);
  });
  afterAll(() => {
    for (const l of open) l.close();
    deleteNetns(ns);
  });

  it('the test ARP builder matches golden bytes', () => {
    const f = arpFrame(1, BROADCAST, STACK_MAC, ip4(10, 77, 99, 2), new Uint8Array(6), ip4(10, 77, 99, 1));
    expect(Buffer.from(f).toString('hex')).toBe(
      'ffffffffffff' + '020000000002' + '0806' + '0001' + '0800' + '06' + '04' + '0001' + '020000000002' + '0a4d6302' + '000000000000' + '0a4d6301',
    );
  });

  it('the addon agrees with RingLayout and TunOffload', () => {
    const c = loadTapAddon().constants;
    for (const [k, v] of Object.entries(c.ring)) expect([k, (RingLayout as Record<string, number>)[k]]).toEqual([k, v]);
    for (const [k, v] of Object.entries(TunOffload)) expect([k, c[`TUN_F_${k}`]]).toEqual([k, v]);
  });

  it('creates the TAP inside the namespace, not in ours; RX, TX and close work', async () => {
    const link = openTap();
    expect(link.ifname).toBe(ifname);
    expect(link.fd).toBeGreaterThan(2);
    expect(linkNames(ns)).toContain(ifname);
    expect(linkNames()).not.toContain(ifname);

    const frames: Uint8Array[] = [];
    let batches = 0;
    link.setReceiver({ receive: (f) => frames.push(f.slice()), batchEnd: () => batches++ });
    ipIn(ns, 'addr', 'add', '10.77.99.1/24', 'dev', ifname);
    ipIn(ns, 'link', 'set', ifname, 'up');
    const tapMac = macString(linkMac(ns, ifname));

    // (1) RX: ping an address nobody has; the kernel ARPs for it out of the TAP.
    await pingIn(ns, '10.77.99.2');
    await waitFor(() => frames.some((f) => parseArp(f)?.tpa === '10.77.99.2'), 3000, 'an ARP request from the kernel');
    const req = frames.map(parseArp).find((a) => a?.tpa === '10.77.99.2')!;
    expect(req).toEqual({ ethDst: 'ff:ff:ff:ff:ff:ff', ethSrc: tapMac, op: 1, sha: tapMac, spa: '10.77.99.1', tha: '00:00:00:00:00:00', tpa: '10.77.99.2' });
    expect(batches).toBeGreaterThan(0);
    const s1 = link.stats();
    expect(s1.rxFrames).toBe(frames.length);
    expect(s1.driverRxFrames).toBe(frames.length);
    expect(s1.rxBatches).toBe(batches);
    expect(s1.rxBytes).toBe(frames.reduce((n, f) => n + f.length, 0));

    // (2) TX: ask "who has 10.77.99.1" from 10.77.99.3 / 02:00:00:00:00:02. The kernel
    // learns our neighbour entry (RFC 826: merge the sender) and answers with a reply.
    const before = linkStats(ns, ifname);
    frames.length = 0;
    const tapMacBytes = linkMac(ns, ifname);
    expect(link.send(arpFrame(1, BROADCAST, STACK_MAC, ip4(10, 77, 99, 3), new Uint8Array(6), ip4(10, 77, 99, 1)))).toBe(true);
    await waitFor(() => frames.some((f) => parseArp(f)?.op === 2), 3000, 'the kernel ARP reply');
    const reply = frames.map(parseArp).find((a) => a?.op === 2)!;
    expect(reply).toEqual({ ethDst: '02:00:00:00:00:02', ethSrc: macString(tapMacBytes), op: 2, sha: macString(tapMacBytes), spa: '10.77.99.1', tha: '02:00:00:00:00:02', tpa: '10.77.99.3' });
    expect(ipIn(ns, 'neigh', 'show', 'dev', ifname)).toMatch(/10\.77\.99\.3 lladdr 02:00:00:00:00:02/);
    const after = linkStats(ns, ifname);
    expect(after.rxPackets - before.rxPackets).toBe(1);
    expect(after.rxBytes - before.rxBytes).toBe(42);
    expect(link.stats().driverTxFrames).toBe(1);

    // (4) close: idempotent, nothing fires afterwards, the non-persistent TAP disappears.
    const rxBefore = link.stats().rxFrames;
    link.close();
    link.close();
    expect(link.isClosed).toBe(true);
    expect(link.send(new Uint8Array(60))).toBe(false);
    expect(link.stats().txClosed).toBe(1);
    expect(link.stats().driverTxFrames).toBe(1); // kept across close
    expect(link.flush()).toBe(0);
    expect(linkNames(ns)).not.toContain(ifname);
    expect(link.stats().rxFrames).toBe(rxBefore);
  });

  it('flushes a burst of sends made outside an RX batch with few native calls', async () => {
    const link = openTap();
    ipIn(ns, 'link', 'set', ifname, 'up');
    const before = linkStats(ns, ifname);
    // IPv4 frames to a MAC that is not the TAP's: counted by the kernel, then dropped.
    const f = new Uint8Array(60);
    f.set(Uint8Array.of(0x02, 0, 0, 0, 0, 0x99), 0);
    f.set(STACK_MAC, 6);
    f[12] = 0x08;
    const slots = link.tx.slotCount;
    const n = 3000; // more than the TX ring (256 or 1024 slots): send() flushes when it fills
    expect(n).toBeGreaterThan(slots);
    for (let i = 0; i < n; i++) expect(link.send(f)).toBe(true);
    expect(link.stats().txPending).toBe(n % slots === 0 ? slots : n % slots);
    // A flush happened inside send() each time the ring filled; the one scheduled flush
    // runs at the microtask checkpoint, before this await resumes.
    await Promise.resolve();
    const s = link.stats();
    expect(s.txPending).toBe(0);
    expect(s.flushes).toBe(Math.ceil(n / slots));
    expect(s.driverTxFrames).toBe(n);
    expect(s.driverTxBytes).toBe(n * 60);
    expect(s.txFrames).toBe(n);
    expect(s.txRingFull).toBe(0);
    const after = linkStats(ns, ifname);
    expect(after.rxPackets - before.rxPackets).toBe(n);
    link.close();
  });

  it('zero-copy TX: txBuffer() lends a TX slot (the same until sent), sendTxBuffer() writes the frame built there', async () => {
    const link = openTap();
    ipIn(ns, 'link', 'set', ifname, 'up');
    const before = linkStats(ns, ifname);
    // TX slots hold any datagram by default, so the slot's frame area takes 14 + 65535 bytes.
    const buf = link.txBuffer()!;
    expect(buf.length).toBeGreaterThanOrEqual(14 + 65535);
    expect(buf.buffer).toBe(link.tx.buffer);
    expect(link.txBuffer()).toBe(buf);
    const n = 700; // several times the ring (256 slots): txBuffer() flushes when it is full
    for (let i = 0; i < n; i++) {
      const b = link.txBuffer()!;
      b.set(Uint8Array.of(0x02, 0, 0, 0, 0, 0x99), 0); // to a MAC that is not the TAP's
      b.set(STACK_MAC, 6);
      b[12] = 0x08;
      b[13] = 0x00;
      b.fill(i & 0xff, 14, 60);
      expect(link.sendTxBuffer(60)).toBe(true);
    }
    // A send() while a slot is lent takes that slot: the lent one is not sent.
    link.txBuffer();
    const f = new Uint8Array(60);
    f.set(link.txBuffer()!.subarray(0, 14));
    expect(link.send(f)).toBe(true);
    expect(link.sendTxBuffer(60)).toBe(false);
    await Promise.resolve();
    const s = link.stats();
    expect(s.txInPlace).toBe(n);
    expect(s.txNotLent).toBe(1);
    expect(s.txFrames).toBe(n + 1);
    expect(s.driverTxFrames).toBe(n + 1);
    expect(s.txPending).toBe(0);
    expect(linkStats(ns, ifname).rxPackets - before.rxPackets).toBe(n + 1);
    link.close();
    expect(link.txBuffer()).toBeUndefined();
    // Slots too small for a 64 KB datagram: nothing is lent (send() copies, as before).
    const small = openTap({ name: `${ifname}s`, slotSize: 2048 });
    expect(small.txBuffer()).toBeUndefined();
    small.close();
  });

  it('vnetHdr: strips the virtio_net_hdr on RX, prepends it on TX, takes TUNSETOFFLOAD / TUNSETVNETHDRSZ', async () => {
    const link = openTap({ name: `${ifname}v`, vnetHdr: true });
    expect(link.vnetHdrSize).toBe(10);
    expect(link.rx.slotSize).toBe(65536 + 64);
    const frames: Uint8Array[] = [];
    link.setReceiver({ receive: (f) => frames.push(f.slice()) });
    const name = link.ifname;
    ipIn(ns, 'addr', 'add', '10.77.98.1/24', 'dev', name);
    ipIn(ns, 'link', 'set', name, 'up');
    const mac = macString(linkMac(ns, name));

    await pingIn(ns, '10.77.98.2');
    await waitFor(() => frames.some((f) => parseArp(f)?.tpa === '10.77.98.2'), 3000, 'an ARP request through the vnet TAP');
    expect(frames.map(parseArp).find((a) => a?.tpa === '10.77.98.2')).toMatchObject({ ethSrc: mac, op: 1, spa: '10.77.98.1' });
    const s = link.stats();
    expect(s.driverRxBytes - s.rxBytes).toBe(10 * s.driverRxFrames);

    link.setVnetHdrSize(12);
    expect(link.vnetHdrSize).toBe(12);
    link.setOffload(TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6);
    link.setOffload(0);
    frames.length = 0;
    expect(link.send(arpFrame(1, BROADCAST, STACK_MAC, ip4(10, 77, 98, 3), new Uint8Array(6), ip4(10, 77, 98, 1)))).toBe(true);
    await waitFor(() => frames.some((f) => parseArp(f)?.op === 2), 3000, 'the ARP reply through the 12-byte vnet header');
    expect(frames.map(parseArp).find((a) => a?.op === 2)).toMatchObject({ ethDst: '02:00:00:00:00:02', tpa: '10.77.98.3', spa: '10.77.98.1' });
    expect(link.stats().driverTxBytes).toBe(12 + 42);
    expect(caught(() => link.setOffload(0x8000_0000)).code).toBe('EINVAL');
    link.close();
  });

  it('drops (and counts) a frame larger than a ring slot instead of handing up a cut one', async () => {
    // Slots for a 1500-byte MTU (1528 - 4 > 14 + 4 + 1500); the kernel side is then
    // raised to MTU 9000, so it writes a 1642-byte frame the slot cannot hold.
    const link = openTap({ name: `${ifname}o`, mtu: 1500, slotSize: 1528, rxSlots: 64, txSlots: 64 });
    const frames: Uint8Array[] = [];
    link.setReceiver({ receive: (f) => frames.push(f.slice()) });
    const name = link.ifname;
    ipIn(ns, 'link', 'set', name, 'mtu', '9000');
    ipIn(ns, 'addr', 'add', '10.77.97.1/24', 'dev', name);
    ipIn(ns, 'link', 'set', name, 'up');
    ipIn(ns, 'neigh', 'replace', '10.77.97.2', 'lladdr', macString(STACK_MAC), 'dev', name, 'nud', 'permanent');
    const pingSized = (size: number): Promise<number | null> =>
      new Promise((resolve) => spawnIn(ns, 'ping', ['-c', '1', '-W', '1', '-s', String(size), '10.77.97.2']).on('exit', resolve));
    const isEcho = (f: Uint8Array, len: number): boolean => f.length === len && f[12] === 0x08 && f[13] === 0x00 && f[23] === 1;
    await pingSized(1600);
    await pingSized(100); // a normal frame after it: the ring keeps working
    await waitFor(() => frames.some((f) => isEcho(f, 14 + 20 + 8 + 100)), 3000, 'the small echo request');
    expect(frames.some((f) => f.length >= link.rx.frameCapacity)).toBe(false);
    expect(frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 1)).toHaveLength(1);
    expect(link.rx.oversizeCount).toBe(1);
    expect(link.stats().rxRingDrops).toBe(1);
    link.close();
  });

  it('multi-queue: two fds on one TAP; a second plain open is EBUSY', () => {
    const q0 = openTap({ name: `${ifname}m`, multiQueue: true, rxSlots: 64, txSlots: 64 });
    const q1 = openTap({ name: `${ifname}m`, multiQueue: true, rxSlots: 64, txSlots: 64 });
    expect(q1.ifname).toBe(q0.ifname);
    expect(q1.fd).not.toBe(q0.fd);
    expect(linkNames(ns).filter((n) => n === q0.ifname)).toHaveLength(1);
    expect(caught(() => openTap({ name: `${ifname}m` })).code).toBe('EINVAL');
    q0.close();
    q1.close();

    const a = openTap({ name: `${ifname}b`, rxSlots: 64, txSlots: 64 });
    const e = caught(() => openTap({ name: `${ifname}b`, rxSlots: 64, txSlots: 64 }));
    expect(e.code).toBe('EBUSY');
    expect(e.message).toMatch(/busy/);
    a.close();
  });

  it('reports an interface deleted under it without crashing', async () => {
    const link = openTap({ name: `${ifname}d`, rxSlots: 64, txSlots: 64 });
    ipIn(ns, 'link', 'del', link.ifname);
    await waitFor(() => link.stats().linkErrors === 1, 2000, 'the poll error');
    expect(link.send(new Uint8Array(60))).toBe(true); // queued; the write fails and is counted
    await waitFor(() => link.stats().txErrors === 1, 1000, 'the write error');
    link.close();
    link.close();
  });

  it('(5) gives clean errors for bad netns paths, a missing device and bad options', () => {
    const missing = caught(() => TapLink.open({ name: 'x', netns: `/var/run/netns/${ns}-nope` }));
    expect(missing.code).toBe('ENOENT');
    expect(missing.message).toMatch(/does not exist.*ip netns add/);

    const notNs = caught(() => TapLink.open({ name: 'x', netns: '/etc/hostname' }));
    expect(notNs.code).toBe('EINVAL');
    expect(notNs.message).toMatch(/not a network namespace/);

    const noDev = caught(() => TapLink.open({ name: 'x', netns: netnsPath(ns), devicePath: '/dev/net/nonexistent' }));
    expect(noDev.code).toBe('ENOENT');
    expect(noDev.message).toMatch(/nonexistent is missing.*modprobe tun/);

    expect(caught(() => TapLink.open({ name: 'a-name-longer-than-15', netns: netnsPath(ns) })).code).toBe('EINVAL');
    expect(caught(() => TapLink.open({ name: 'x', netns: netnsPath(ns), slotSize: 1024 })).message).toMatch(/cannot hold/);
    expect(caught(() => TapLink.open({ name: 'x', netns: netnsPath(ns), rxSlots: 100 })).code).toBe('EINVAL');
    // None of the failures left a TAP (or the thread) in the namespace.
    expect(linkNames(ns).filter((n) => n === 'x')).toHaveLength(0);
    expect(linkNames()).not.toContain('x');
  });
});
