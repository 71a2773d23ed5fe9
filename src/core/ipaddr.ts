/**
 * IPv4 addresses as unsigned 32-bit numbers in host order (10.77.0.2 = 0x0a4d0002):
 * formatting, parsing and the special address blocks. Lives in core because the link
 * layer (ARP) needs them too and must not import from the IP layer above it;
 * src/ip/types.ts and src/ip/route.ts re-export them.
 *
 * Blocks (RFC 1122 section 3.2.1.3, RFC 1812 section 4.2.2.11): 0.0.0.0/8 "this network",
 * 127.0.0.0/8 loopback, 224.0.0.0/4 multicast, 240.0.0.0/4 reserved (class E),
 * 255.255.255.255 limited broadcast.
 */

export const LIMITED_BROADCAST = 0xffffffff;

export function isLoopback(a: number): boolean {
  return a >>> 24 === 127;
}

export function isMulticast(a: number): boolean {
  return a >>> 28 === 0xe;
}

/** 240.0.0.0/4 (class E) including 255.255.255.255. */
export function isReserved(a: number): boolean {
  return a >>> 28 === 0xf;
}

/** 0.0.0.0/8: "this host on this network" (RFC 1122 3.2.1.3 (a), (b)). */
export function isThisNetwork(a: number): boolean {
  return a >>> 24 === 0;
}

export function ipToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parse dotted-quad; returns undefined for anything that is not exactly four 0..255 parts. */
export function parseIp(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let a = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    a = a * 256 + n;
  }
  return a >>> 0;
}
