/**
 * MAC (EUI-48) address helpers. A MAC is 6 bytes in a Uint8Array, usually a view into a
 * frame; every helper takes an offset so checks on the hot path allocate nothing.
 */
import type { Rng } from '../core/rng.js';

export const MAC_LEN = 6;

/** Parse "02:00:00:00:00:01" (also '-' separated). Undefined for anything else. */
export function parseMac(s: string): Uint8Array | undefined {
  const parts = s.split(/[:-]/);
  if (parts.length !== MAC_LEN) return undefined;
  const out = new Uint8Array(MAC_LEN);
  for (let i = 0; i < MAC_LEN; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return undefined;
    out[i] = parseInt(p, 16);
  }
  return out;
}

/** Lower-case colon form of bytes[off, off+6). */
export function formatMac(bytes: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < MAC_LEN; i++) {
    const b = bytes[off + i] ?? 0;
    s += (i === 0 ? '' : ':') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

/** bytes[aOff, aOff+6) equals other[bOff, bOff+6). No allocation. */
export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff = 0): boolean {
  return (
    a[aOff] === b[bOff] &&
    a[aOff + 1] === b[bOff + 1] &&
    a[aOff + 2] === b[bOff + 2] &&
    a[aOff + 3] === b[bOff + 3] &&
    a[aOff + 4] === b[bOff + 4] &&
    a[aOff + 5] === b[bOff + 5]
  );
}

/** ff:ff:ff:ff:ff:ff */
export function isBroadcastMac(bytes: Uint8Array, off = 0): boolean {
  return (
    (bytes[off]! & bytes[off + 1]! & bytes[off + 2]! & bytes[off + 3]! & bytes[off + 4]! & bytes[off + 5]!) ===
    0xff
  );
}

/** Group bit (I/G, the least significant bit of the first octet) set: multicast or broadcast. */
export function isMulticastMac(bytes: Uint8Array, off = 0): boolean {
  return (bytes[off]! & 0x01) !== 0;
}

/** 00:00:00:00:00:00 */
export function isZeroMac(bytes: Uint8Array, off = 0): boolean {
  return (bytes[off]! | bytes[off + 1]! | bytes[off + 2]! | bytes[off + 3]! | bytes[off + 4]! | bytes[off + 5]!) === 0;
}

export function writeBroadcastMac(out: Uint8Array, off = 0): void {
  out.fill(0xff, off, off + MAC_LEN);
}

export function copyMac(out: Uint8Array, outOff: number, src: Uint8Array, srcOff = 0): void {
  for (let i = 0; i < MAC_LEN; i++) out[outOff + i] = src[srcOff + i]!;
}

/**
 * RFC 1112 section 6.4: an IPv4 host group address maps to the Ethernet multicast address
 * 01-00-5E-00-00-00 plus the low-order 23 bits of the IP address.
 */
export function writeIpv4MulticastMac(ip: number, out: Uint8Array, off = 0): void {
  out[off] = 0x01;
  out[off + 1] = 0x00;
  out[off + 2] = 0x5e;
  out[off + 3] = (ip >>> 16) & 0x7f;
  out[off + 4] = (ip >>> 8) & 0xff;
  out[off + 5] = ip & 0xff;
}

/**
 * A random locally administered (U/L bit = 1, IEEE 802 section 8.2.2), individual
 * (I/G bit = 0) address, e.g. 02:xx:xx:xx:xx:xx or 3e:...
 */
export function randomLocalMac(rng: Rng): Uint8Array {
  const out = new Uint8Array(MAC_LEN);
  const hi = rng.nextU32();
  const lo = rng.nextU32();
  out[0] = ((hi >>> 24) & 0xfc) | 0x02;
  out[1] = (hi >>> 16) & 0xff;
  out[2] = (hi >>> 8) & 0xff;
  out[3] = hi & 0xff;
  out[4] = (lo >>> 8) & 0xff;
  out[5] = lo & 0xff;
  return out;
}
