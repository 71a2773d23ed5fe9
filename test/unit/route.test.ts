import { describe, expect, it } from 'vitest';
import { Ipv4Route, isLoopback, isMulticast, parseCidr, prefixMask } from '../../src/ip/route.js';
import { parseIp } from '../../src/ip/types.js';

const ip = (s: string): number => {
  const a = parseIp(s);
  if (a === undefined) throw new Error(s);
  return a;
};

describe('parseCidr / prefixMask', () => {
  it('parses address/prefix strings', () => {
    expect(parseCidr('10.77.0.2/24')).toEqual({ addr: 0x0a4d0002, prefixLen: 24 });
    expect(parseCidr('10.77.0.2')).toEqual({ addr: 0x0a4d0002, prefixLen: 32 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ addr: 0, prefixLen: 0 });
    for (const bad of ['10.77.0.2/33', '10.77.0.2/', '10.77.0/24', '10.77.0.2/2x', '10.77.0.256/24', '/24', 'x']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('builds masks', () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(1)).toBe(0x80000000);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(31)).toBe(0xfffffffe);
    expect(prefixMask(32)).toBe(0xffffffff);
  });

  it('classifies addresses', () => {
    expect(isLoopback(ip('127.3.2.1'))).toBe(true);
    expect(isLoopback(ip('128.0.0.1'))).toBe(false);
    expect(isMulticast(ip('224.0.0.1'))).toBe(true);
    expect(isMulticast(ip('239.255.255.255'))).toBe(true);
    expect(isMulticast(ip('240.0.0.1'))).toBe(false);
  });
});

describe('Ipv4Route', () => {
  const r = new Ipv4Route({ addr: ip('10.77.0.2'), prefixLen: 24, gateway: ip('10.77.0.1') });

  it('derives network and broadcast', () => {
    expect(r.network).toBe(ip('10.77.0.0'));
    expect(r.broadcast).toBe(ip('10.77.0.255'));
    expect(r.mask).toBe(0xffffff00);
    expect(r.toString()).toBe('10.77.0.2/24 via 10.77.0.1');
  });

  it('picks next hops: on-link, gateway, broadcast, local', () => {
    expect(r.nextHop(ip('10.77.0.9'))).toBe(ip('10.77.0.9'));
    expect(r.nextHop(ip('8.8.8.8'))).toBe(ip('10.77.0.1'));
    expect(r.nextHop(ip('10.77.1.9'))).toBe(ip('10.77.0.1'));
    expect(r.nextHop(ip('255.255.255.255'))).toBe(0xffffffff);
    expect(r.nextHop(ip('10.77.0.255'))).toBe(0xffffffff);
    expect(r.nextHop(ip('10.77.0.2'))).toBe(ip('10.77.0.2'));
    expect(r.isLocal(ip('10.77.0.2'))).toBe(true);
    expect(r.isLocal(ip('127.0.0.1'))).toBe(true);
    expect(r.isLocal(ip('10.77.0.3'))).toBe(false);
  });

  it('has no route for 0/8, multicast, class E, the subnet-zero address, or off-link without gateway', () => {
    const noGw = new Ipv4Route({ addr: ip('10.77.0.2'), prefixLen: 24 });
    expect(noGw.nextHop(ip('8.8.8.8'))).toBeUndefined();
    expect(noGw.nextHop(ip('10.77.0.7'))).toBe(ip('10.77.0.7'));
    expect(r.nextHop(0)).toBeUndefined();
    expect(r.nextHop(ip('224.0.0.1'))).toBeUndefined();
    expect(r.nextHop(ip('250.1.1.1'))).toBeUndefined();
    expect(r.nextHop(ip('10.77.0.0'))).toBeUndefined();
  });

  it('recognizes broadcast forms and unicast sources (RFC 1122 3.2.1.3)', () => {
    expect(r.isBroadcast(ip('255.255.255.255'))).toBe(true);
    expect(r.isBroadcast(ip('10.77.0.255'))).toBe(true);
    expect(r.isBroadcast(ip('10.77.0.0'))).toBe(true);
    expect(r.isBroadcast(ip('10.77.1.255'))).toBe(false);
    expect(r.isUnicastSource(ip('10.77.0.9'))).toBe(true);
    expect(r.isUnicastSource(ip('8.8.8.8'))).toBe(true);
    for (const s of ['0.0.0.0', '127.0.0.1', '10.77.0.255', '255.255.255.255', '224.1.1.1', '240.0.0.1']) {
      expect(r.isUnicastSource(ip(s)), s).toBe(false);
    }
  });

  it('has no broadcast address on /31 and /32 (RFC 3021)', () => {
    const p2p = new Ipv4Route({ addr: ip('10.77.0.0'), prefixLen: 31, gateway: ip('10.77.0.1') });
    expect(p2p.broadcast).toBeUndefined();
    expect(p2p.nextHop(ip('10.77.0.1'))).toBe(ip('10.77.0.1'));
    expect(p2p.isBroadcast(ip('10.77.0.1'))).toBe(false);
    const host = new Ipv4Route({ addr: ip('10.77.0.5'), prefixLen: 32 });
    expect(host.nextHop(ip('10.77.0.6'))).toBeUndefined();
  });

  it('rejects unusable configurations', () => {
    expect(() => new Ipv4Route({ addr: ip('10.77.0.2'), prefixLen: 33 })).toThrow(RangeError);
    expect(() => new Ipv4Route({ addr: ip('127.0.0.1'), prefixLen: 8 })).toThrow(RangeError);
    expect(() => new Ipv4Route({ addr: ip('10.77.0.255'), prefixLen: 24 })).toThrow(/broadcast/);
    expect(() => new Ipv4Route({ addr: ip('10.77.0.2'), prefixLen: 24, gateway: ip('10.78.0.1') })).toThrow(/gateway/);
    expect(() => new Ipv4Route({ addr: ip('10.77.0.2'), prefixLen: 24, gateway: ip('10.77.0.2') })).toThrow(/gateway/);
  });
});
