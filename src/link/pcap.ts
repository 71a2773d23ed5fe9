/**
 * Classic libpcap files (the format tcpdump -w writes; see the pcap-savefile man page or
 * draft-ietf-opsawg-pcap): a 24-byte global header, then per frame a 16-byte record header
 * (seconds, microseconds, captured length, original length) and the captured bytes.
 * We write little-endian with magic 0xa1b2c3d4 (so the file starts d4 c3 b2 a1), version 2.4,
 * snaplen 262144, LINKTYPE_ETHERNET (1).
 *
 * Timestamps come from the injected Clock: virtual time in simulations (so a pcap of a sim
 * shows the sim's timing), plus `timeOffsetMs` (e.g. the wall-clock epoch of a real run).
 *
 * Output goes to a file (buffered; synchronous appends in 64 KB batches, flushed on
 * flush()/close()) or, without a path, to memory (toBuffer()). A capture in memory is
 * bounded by `maxMemoryBytes` (default 64 MiB); frames beyond it are counted in `dropped`
 * and not recorded, so a long simulation with capture on cannot exhaust the heap.
 */
import * as fs from 'node:fs';
import type { Clock } from '../core/clock.js';

export const PCAP_MAGIC = 0xa1b2c3d4;
/** Same format with nanosecond timestamps (read only). */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

const STAGING_BYTES = 64 * 1024;
/** Default bound of an in-memory capture. */
export const PCAP_MEMORY_DEFAULT = 64 * 1024 * 1024;

export interface PcapWriterOptions {
  clock: Clock;
  /** Write to this file (created/truncated). Without it, frames are kept in memory. */
  path?: string;
  snaplen?: number;
  /** Added to clock.now() for every timestamp (ms). */
  timeOffsetMs?: number;
  /** In-memory capture only: stop recording (count `dropped`) beyond this many bytes. Default 64 MiB. */
  maxMemoryBytes?: number;
}

export class PcapWriter {
  private readonly clock: Clock;
  private readonly snaplen: number;
  private readonly timeOffsetMs: number;
  private readonly fd: number | undefined;
  private readonly chunks: Uint8Array[] = [];
  private readonly staging = new Uint8Array(STAGING_BYTES);
  private readonly dv = new DataView(this.staging.buffer, this.staging.byteOffset, this.staging.byteLength);
  private used = 0;
  private closed = false;
  /** Bytes in `chunks` (memory mode). */
  private stored = 0;
  private readonly maxMemoryBytes: number;
  /** Frames written so far. */
  frames = 0;
  /** Frames not recorded because the in-memory capture reached maxMemoryBytes. */
  dropped = 0;
  readonly path: string | undefined;

  constructor(opts: PcapWriterOptions) {
    this.clock = opts.clock;
    this.snaplen = opts.snaplen ?? PCAP_SNAPLEN;
    this.timeOffsetMs = opts.timeOffsetMs ?? 0;
    this.path = opts.path;
    this.fd = opts.path === undefined ? undefined : fs.openSync(opts.path, 'w');
    this.maxMemoryBytes = this.fd === undefined ? (opts.maxMemoryBytes ?? PCAP_MEMORY_DEFAULT) : Infinity;
    const dv = this.dv;
    dv.setUint32(0, PCAP_MAGIC, true);
    dv.setUint16(4, PCAP_VERSION_MAJOR, true);
    dv.setUint16(6, PCAP_VERSION_MINOR, true);
    dv.setInt32(8, 0, true); // thiszone: GMT
    dv.setUint32(12, 0, true); // sigfigs
    dv.setUint32(16, this.snaplen, true);
    dv.setUint32(20, LINKTYPE_ETHERNET, true);
    this.used = PCAP_GLOBAL_HEADER_LEN;
  }

  /** Record one frame (copied). `timeMs` defaults to clock.now() + timeOffsetMs. */
  write(frame: Uint8Array, timeMs: number = this.clock.now() + this.timeOffsetMs): void {
    if (this.closed) return;
    const incl = Math.min(frame.length, this.snaplen);
    if (this.stored + this.used + PCAP_RECORD_HEADER_LEN + incl > this.maxMemoryBytes) {
      this.dropped++;
      return;
    }
    if (this.used + PCAP_RECORD_HEADER_LEN + incl > STAGING_BYTES) this.spill();
    const us = Math.max(0, Math.round(timeMs * 1000));
    const sec = Math.floor(us / 1e6);
    const dv = this.dv;
    dv.setUint32(this.used, sec >>> 0, true);
    dv.setUint32(this.used + 4, us - sec * 1e6, true);
    dv.setUint32(this.used + 8, incl, true);
    dv.setUint32(this.used + 12, frame.length, true);
    this.used += PCAP_RECORD_HEADER_LEN;
    this.frames++;
    if (incl <= STAGING_BYTES - this.used) {
      this.staging.set(frame.subarray(0, incl), this.used);
      this.used += incl;
    } else {
      // Larger than the staging buffer (a 64 KB super-frame): out directly after the header.
      this.spill();
      this.out(frame.slice(0, incl));
    }
  }

  /** Push buffered bytes to the file (no-op in memory mode beyond moving them to the chunk list). */
  flush(): void {
    this.spill();
  }

  /** Flush and close the file. Later writes are ignored. */
  close(): void {
    if (this.closed) return;
    this.spill();
    this.closed = true;
    if (this.fd !== undefined) fs.closeSync(this.fd);
  }

  /** The whole capture so far (memory mode; in file mode only what has not been written yet). */
  toBuffer(): Uint8Array {
    if (!this.closed) this.spill();
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  /** Write the in-memory capture to a file. */
  writeFile(path: string): void {
    fs.writeFileSync(path, this.toBuffer());
  }

  private spill(): void {
    if (this.used === 0) return;
    this.out(this.fd === undefined ? this.staging.slice(0, this.used) : this.staging.subarray(0, this.used));
    this.used = 0;
  }

  private out(bytes: Uint8Array): void {
    if (this.fd === undefined) {
      this.chunks.push(bytes);
      this.stored += bytes.length;
      return;
    }
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
  }
}

// ---------------------------------------------------------------------------------------
// Reader (for tests and tools; the stack never reads pcaps on its packet path)
// ---------------------------------------------------------------------------------------

export interface PcapRecord {
  /** Timestamp in ms (seconds * 1000 + fraction). */
  timeMs: number;
  tsSec: number;
  /** Microseconds (or nanoseconds for PCAP_MAGIC_NS files). */
  tsFrac: number;
  origLen: number;
  data: Uint8Array;
}

export interface PcapFile {
  littleEndian: boolean;
  nanoseconds: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
  records: PcapRecord[];
}

/** Parse a classic pcap file (either byte order, us or ns). Throws an Error saying what is wrong. */
export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < PCAP_GLOBAL_HEADER_LEN) throw new Error(`pcap: ${bytes.length} bytes, shorter than the 24-byte global header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  const m = dv.getUint32(0, true);
  if (m === PCAP_MAGIC || m === PCAP_MAGIC_NS) le = true;
  else if (dv.getUint32(0, false) === PCAP_MAGIC || dv.getUint32(0, false) === PCAP_MAGIC_NS) le = false;
  else throw new Error(`pcap: bad magic 0x${m.toString(16)}`);
  const ns = dv.getUint32(0, le) === PCAP_MAGIC_NS;
  const file: PcapFile = {
    littleEndian: le,
    nanoseconds: ns,
    versionMajor: dv.getUint16(4, le),
    versionMinor: dv.getUint16(6, le),
    snaplen: dv.getUint32(16, le),
    linktype: dv.getUint32(20, le),
    records: [],
  };
  let off = PCAP_GLOBAL_HEADER_LEN;
  while (off < bytes.length) {
    if (off + PCAP_RECORD_HEADER_LEN > bytes.length) throw new Error(`pcap: truncated record header at offset ${off}`);
    const tsSec = dv.getUint32(off, le);
    const tsFrac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    off += PCAP_RECORD_HEADER_LEN;
    if (off + incl > bytes.length) throw new Error(`pcap: record of ${incl} bytes runs past the end at offset ${off}`);
    const timeMs = tsSec * 1000 + (ns ? tsFrac / 1e6 : tsFrac / 1e3);
    file.records.push({ timeMs, tsSec, tsFrac, origLen, data: bytes.subarray(off, off + incl) });
    off += incl;
  }
  return file;
}
