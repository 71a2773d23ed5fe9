import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { ARP_LEN, ArpOp, emitArp } from '../../src/link/arp.js';
import { EtherType, emitEthernetHeader } from '../../src/link/ethernet.js';
import { PcapWriter, readPcap } from '../../src/link/pcap.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

const MAC_A = hex('020000000001');
const MAC_B = hex('020000000002');

function arpFrame(op: number): Uint8Array {
  const f = new Uint8Array(14 + ARP_LEN);
  emitEthernetHeader(f, 0, op === ArpOp.REQUEST ? hex('ffffffffffff') : MAC_A, op === ArpOp.REQUEST ? MAC_A : MAC_B, EtherType.ARP);
  if (op === ArpOp.REQUEST) emitArp(f, 14, op, MAC_A, 0x0a4d0001, undefined, 0x0a4d0002);
  else emitArp(f, 14, op, MAC_B, 0x0a4d0002, MAC_A, 0x0a4d0001);
  return f;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-pcap-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('PcapWriter', () => {
  // Little-endian classic header: magic a1b2c3d4, v2.4, thiszone 0, sigfigs 0, snaplen 262144, LINKTYPE_ETHERNET.
  const GLOBAL = 'd4c3b2a1 0200 0400 00000000 00000000 00000400 01000000';

  it('writes the golden global header', () => {
    const w = new PcapWriter({ clock: new ManualClock(0) });
    expect(w.toBuffer()).toEqual(hex(GLOBAL));
  });

  it('writes a golden record with the clock time', () => {
    const clock = new ManualClock(0);
    const w = new PcapWriter({ clock });
    clock.advanceTo(1500.25); // 1 s + 500250 us
    const frame = hex('ffffffffffff 020000000001 0806 abcd');
    w.write(frame);
    // ts_sec 1, ts_usec 500250 (0x0007a21a), incl 16, orig 16, then the bytes
    expect(w.toBuffer()).toEqual(hex(GLOBAL + '01000000 1aa20700 10000000 10000000' + 'ffffffffffff0200000000010806abcd'));
  });

  it('round-trips through the reader, with offset timestamps', () => {
    const clock = new ManualClock(0);
    const w = new PcapWriter({ clock, timeOffsetMs: 1_700_000_000_000 });
    const frames = [arpFrame(ArpOp.REQUEST), arpFrame(ArpOp.REPLY), new Uint8Array(1514).fill(7)];
    for (const f of frames) {
      w.write(f);
      clock.advance(12.345);
    }
    const file = readPcap(w.toBuffer());
    expect(file).toMatchObject({ littleEndian: true, nanoseconds: false, versionMajor: 2, versionMinor: 4, snaplen: 262144, linktype: 1 });
    expect(file.records.map((r) => r.data)).toEqual(frames);
    expect(file.records.map((r) => r.origLen)).toEqual([42, 42, 1514]);
    expect(file.records[0]!.tsSec).toBe(1_700_000_000);
    expect(file.records[2]!.timeMs).toBeCloseTo(1_700_000_000_000 + 24.69, 3);
    expect(w.frames).toBe(3);
  });

  it('truncates to snaplen but records the original length', () => {
    const w = new PcapWriter({ clock: new ManualClock(0), snaplen: 20 });
    w.write(new Uint8Array(100).fill(1));
    const r = readPcap(w.toBuffer()).records[0]!;
    expect(r.data.length).toBe(20);
    expect(r.origLen).toBe(100);
  });

  it('handles more than the staging buffer, and 64 KB frames, in file mode', () => {
    const clock = new ManualClock(0);
    const file = path.join(tmp, 'big.pcap');
    const w = new PcapWriter({ clock, path: file });
    const big = new Uint8Array(70_000).map((_, i) => i & 255);
    for (let i = 0; i < 100; i++) {
      const f = new Uint8Array(1514).fill(i);
      w.write(f);
      if (i === 50) w.write(big);
    }
    w.close();
    w.write(new Uint8Array(60)); // ignored after close
    const recs = readPcap(fs.readFileSync(file)).records;
    expect(recs.length).toBe(101);
    expect(Buffer.compare(recs[51]!.data, big)).toBe(0);
    expect(recs[100]!.data[0]).toBe(99);
  });

  it('bounds an in-memory capture (maxMemoryBytes) and counts the frames it did not record', () => {
    const clock = new ManualClock(0);
    // Global header 24 + 3 records of 16 + 42 = 198 bytes fit in 200; the 4th does not.
    const w = new PcapWriter({ clock, maxMemoryBytes: 200 });
    for (let i = 0; i < 6; i++) w.write(arpFrame(ArpOp.REQUEST));
    expect(w.frames).toBe(3);
    expect(w.dropped).toBe(3);
    const f = readPcap(w.toBuffer());
    expect(f.records).toHaveLength(3);
    expect(w.toBuffer().length).toBe(24 + 3 * (16 + 42));
  });

  it('reader refuses garbage with a clear error', () => {
    expect(() => readPcap(new Uint8Array(10))).toThrow(/shorter/);
    expect(() => readPcap(new Uint8Array(24))).toThrow(/bad magic/);
    const w = new PcapWriter({ clock: new ManualClock(0) });
    w.write(new Uint8Array(60));
    const b = w.toBuffer();
    expect(() => readPcap(b.subarray(0, b.length - 1))).toThrow(/past the end/);
  });

  it('reader accepts big-endian files', () => {
    const be = hex('a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000001' + '00000002 00000003 00000002 00000002 abcd');
    const f = readPcap(be);
    expect(f.littleEndian).toBe(false);
    expect(f.records[0]!.timeMs).toBeCloseTo(2000.003, 6);
    expect([...f.records[0]!.data]).toEqual([0xab, 0xcd]);
  });

  it('tshark reads our ARP frames (skipped when tshark is missing)', () => {
    const tshark = '/usr/bin/tshark';
    if (!fs.existsSync(tshark)) {
      console.warn('tshark not installed: skipping the tshark cross-check');
      return;
    }
    const file = path.join(tmp, 'arp.pcap');
    const w = new PcapWriter({ clock: new ManualClock(0), path: file });
    w.write(arpFrame(ArpOp.REQUEST));
    w.write(arpFrame(ArpOp.REPLY));
    w.close();
    const out = execFileSync(tshark, ['-r', file, '-T', 'fields', '-e', 'arp.opcode', '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4'], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out.trim().split('\n')).toEqual(['1\t10.77.0.1\t10.77.0.2', '2\t10.77.0.2\t10.77.0.1']);
  });
});
