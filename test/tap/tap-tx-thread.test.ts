/**
 * The TAP driver's TX writer thread (TapOpenOptions.txThread) against the real kernel,
 * inside a namespace this file creates and deletes: frames arrive intact and in order
 * (tcpdump on the kernel side is the judge), the counters match, and closing with frames
 * pending neither crashes nor hangs. Skips with a printed reason when TAP/netns are
 * unavailable (or tcpdump is missing, for the capture test).
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, ipIn, linkStats, netnsPath, spawnIn, uniqueNetnsName } from '../../src/cli/netns.js';
import { TapLink } from '../../src/link/tap.js';
import { linkMac, tapSkipReason, waitFor } from '../helpers/netns.js';

const skip = tapSkipReason('tap-tx-thread');
const hasTcpdump = ((): boolean => {
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('[tap-tx-thread] capture test SKIPPED: tcpdump not found');
    return false;
  }
})();

const STACK_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);
/** IEEE 802 local experimental EtherType: the kernel counts such frames, then drops them. */
const ETH_EXPERIMENTAL = 0x88b5;

/** Frame i: to the TAP's MAC, from ours, EtherType 0x88b5, u32 i, then bytes derived from i. */
function frameLen(i: number): number {
  return 60 + ((i * 7919) % 1455); // 60 .. 1514
}
function fillFrame(buf: Uint8Array, i: number, dst: Uint8Array): number {
  const len = frameLen(i);
  buf.set(dst, 0);
  buf.set(STACK_MAC, 6);
  buf[12] = ETH_EXPERIMENTAL >> 8;
  buf[13] = ETH_EXPERIMENTAL & 0xff;
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(14, i);
  for (let k = 18; k < len; k++) buf[k] = (i + k) & 0xff;
  return len;
}

/** The frames of a pcap file (libpcap format, either byte order, Ethernet link type). */
function readPcap(path: string): Uint8Array[] {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = dv.getUint32(off + 8, le);
    out.push(new Uint8Array(b.subarray(off + 16, off + 16 + incl)));
    off += 16 + incl;
  }
  return out;
}

describe.skipIf(skip !== undefined)('TAP driver: TX writer thread (real kernel)', () => {
  const ns = uniqueNetnsName('taptxt');
  const ifname = `ttxt${process.pid % 100000}`;
  const open: TapLink[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tap-tx-thread-'));
  const openTap = (o: Partial<Parameters<typeof TapLink.open>[0]> = {}): TapLink => {
    const l = TapLink.open({ name: ifname, netns: netnsPath(ns), txThread: true, ...o });
    open.push(l);
    return l;
  };

  beforeAll(() => {
    createNetns(ns);
  });
  afterAll(() => {
    for (const l of open) l.close();
    deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasTcpdump)('writes every frame intact and in order (send() and txBuffer()), counters match', async () => {
    const link = openTap();
    expect(link.txThread).toBe(true);
    ipIn(ns, 'link', 'set', ifname, 'up');
    const dst = linkMac(ns, ifname);
    const pcap = join(dir, 'tx.pcap');
    const bulk = 3000;
    const n = bulk + 700;
    let tcpdump: ChildProcess | undefined = spawnIn(ns, 'tcpdump', ['-i', ifname, '-n', '-U', '-B', '16384', '-w', pcap, 'ether', 'proto', String(ETH_EXPERIMENTAL)]);
    try {
      let err = '';
      tcpdump.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      await waitFor(() => /listening on/.test(err), 5000, 'tcpdump to listen');
      const before = linkStats(ns, ifname);

      // Several ring-fulls (256 slots) in bursts: send() copies, the other half is built
      // in place; a full ring makes send()/txBuffer() wait in flush() for the writer.
      const scratch = new Uint8Array(1514);
      let bytes = 0;
      const sendOne = (i: number): void => {
        if (i % 2 === 0) {
          const len = fillFrame(scratch, i, dst);
          expect(link.send(scratch.subarray(0, len))).toBe(true);
          bytes += len;
        } else {
          const len = fillFrame(link.txBuffer()!, i, dst);
          expect(link.sendTxBuffer(len)).toBe(true);
          bytes += len;
        }
      };
      for (let i = 0; i < bulk; i++) {
        sendOne(i);
        if (i % 500 === 499) await new Promise((r) => setTimeout(r, 1)); // let the writer sleep now and then
      }
      // Then small groups (1 to 7 frames) with the event loop turning in between: groups of
      // up to 4 found the writer asleep are written inline by flush(), larger ones wake it.
      for (let i = bulk, g = 0; i < n; g++) {
        for (let k = 0; k <= g % 7 && i < n; k++) sendOne(i++);
        await new Promise((r) => setImmediate(r));
        if (g % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => link.stats().driverTxFrames === n, 5000, `${n} frames written by the writer thread`);
      const s = link.stats();
      expect(s.driverTxFrames).toBe(n);
      expect(s.driverTxBytes).toBe(bytes);
      expect(s.txFrames).toBe(n);
      expect(s.txBytes).toBe(bytes);
      expect(s.txErrors).toBe(0);
      expect(s.txRingFull).toBe(0);
      expect(s.txPending).toBe(0);
      const driver = (link as unknown as { dev: { stats(): { txInline: number; txWakes: number } } }).dev.stats();
      expect(driver.txInline).toBeGreaterThan(0);
      expect(driver.txWakes).toBeGreaterThan(0);
      const after = linkStats(ns, ifname);
      expect(after.rxPackets - before.rxPackets).toBe(n);
      expect(after.rxBytes - before.rxBytes).toBe(bytes);

      await waitFor(() => {
        try {
          return readPcap(pcap).length >= n;
        } catch {
          return false;
        }
      }, 5000, 'the capture of every frame');
      const got = readPcap(pcap);
      expect(got).toHaveLength(n);
      const expected = new Uint8Array(1514);
      for (let i = 0; i < n; i++) {
        const f = got[i]!;
        const len = fillFrame(expected, i, dst);
        // In order (the sequence number) and intact (every byte).
        if (f.length !== len || Buffer.compare(Buffer.from(f), Buffer.from(expected.subarray(0, len))) !== 0) {
          throw new Error(`frame ${i}: got ${f.length} bytes, seq ${new DataView(f.buffer, f.byteOffset).getUint32(14)}; expected ${len} bytes, seq ${i}`);
        }
      }
    } finally {
      tcpdump.kill('SIGINT');
      tcpdump = undefined;
    }
    link.close();
    expect(link.stats().driverTxFrames).toBe(n); // kept across close()
  });

  it('close() with frames pending writes them first, and neither crashes nor hangs (repeated)', () => {
    for (let round = 0; round < 20; round++) {
      const link = openTap({ name: `${ifname}c` });
      ipIn(ns, 'link', 'set', link.ifname, 'up');
      const dst = linkMac(ns, link.ifname);
      const f = new Uint8Array(1514);
      // Up to two ring-fulls, closed at once: no await, the writer is still busy.
      const n = 1 + ((round * 97) % (2 * link.tx.slotCount));
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const len = fillFrame(f, i, dst);
        expect(link.send(f.subarray(0, len))).toBe(true);
        bytes += len;
      }
      if (round % 2 === 1) link.flush(); // wakes the writer: close() then races it
      const t0 = performance.now();
      link.close();
      expect(performance.now() - t0).toBeLessThan(2000);
      const s = link.stats();
      expect(s.driverTxFrames).toBe(n);
      expect(s.driverTxBytes).toBe(bytes);
      expect(link.send(f.subarray(0, 60))).toBe(false);
      expect(link.flush()).toBe(0);
      link.close();
    }
    // An idle writer (asleep since the open) is stopped and joined too.
    const idle = openTap({ name: `${ifname}i` });
    const t0 = performance.now();
    idle.close();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(idle.stats().driverTxFrames).toBe(0);
  });

  it('flush() returns the frames handed over since the previous flush()', async () => {
    const link = openTap({ name: `${ifname}f` });
    ipIn(ns, 'link', 'set', link.ifname, 'up');
    const f = new Uint8Array(60);
    f.set(STACK_MAC, 6);
    f[12] = ETH_EXPERIMENTAL >> 8;
    f[13] = ETH_EXPERIMENTAL & 0xff;
    for (let i = 0; i < 10; i++) link.send(f);
    expect(link.flush()).toBe(10);
    expect(link.flush()).toBe(0);
    link.send(f);
    await Promise.resolve(); // the scheduled flush hands it over
    expect(link.flush()).toBe(0);
    await waitFor(() => link.stats().driverTxFrames === 11, 2000, 'the 11 frames written');
    link.close();
  });

  it('reports an interface deleted under it: the write error is counted, close() does not hang', async () => {
    const link = openTap({ name: `${ifname}d`, rxSlots: 64, txSlots: 64 });
    ipIn(ns, 'link', 'del', link.ifname);
    await waitFor(() => link.stats().linkErrors === 1, 2000, 'the poll error');
    expect(link.send(new Uint8Array(60))).toBe(true); // queued; the writer's write fails and is counted
    await waitFor(() => link.stats().txErrors === 1, 1000, 'the write error');
    link.close();
    link.close();
  });
});
