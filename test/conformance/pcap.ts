/**
 * Classic libpcap file writer for failing scenarios (magic 0xa1b2c3d4, version 2.4,
 * LINKTYPE_ETHERNET). Kept inside the harness so a failing run can always be written,
 * whatever state src/link/pcap.ts is in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;

export function pcapBytes(records: ReadonlyArray<{ t: number; frame: Uint8Array }>): Uint8Array {
  const size = 24 + records.reduce((n, r) => n + 16 + r.frame.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, SNAPLEN, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  let o = 24;
  for (const r of records) {
    const us = Math.max(0, Math.round(r.t * 1000));
    v.setUint32(o, Math.floor(us / 1e6), true);
    v.setUint32(o + 4, us % 1e6, true);
    v.setUint32(o + 8, r.frame.length, true);
    v.setUint32(o + 12, r.frame.length, true);
    out.set(r.frame, o + 16);
    o += 16 + r.frame.length;
  }
  return out;
}

/** Write the records (times in ms since the scenario started) to `path`; returns the path. */
export function writePcap(path: string, records: ReadonlyArray<{ t: number; frame: Uint8Array }>): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, pcapBytes(records));
  return path;
}
