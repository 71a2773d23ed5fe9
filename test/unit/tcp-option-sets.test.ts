/**
 * Interned, frozen connection option sets (src/tcp/option-sets.ts): connections with the same
 * options share one object; changing an option on one connection never touches another.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TCP_CONFIG } from '../../src/tcp/config.js';
import { OptionSets } from '../../src/tcp/option-sets.js';
import type { Connection } from '../../src/tcp/connection.js';
import { LOCAL, LOCAL_PORT, REMOTE, REMOTE_ISS, TcpHarness } from '../helpers/tcp-peer.js';

describe('OptionSets', () => {
  it('defaults come from the config; the same change from the same set gives the same frozen object', () => {
    const sets = new OptionSets({ ...DEFAULT_TCP_CONFIG, keepaliveIdle: 123, defaultRecvBuffer: 4096 });
    expect(sets.defaults).toMatchObject({ noDelay: false, keepAlive: false, keepIdle: 123, recvBufferSize: 4096, maxSegment: 0 });
    expect(Object.isFrozen(sets.defaults)).toBe(true);
    const a = sets.with(sets.defaults, 'noDelay', true);
    const b = sets.withAll(sets.defaults, { noDelay: true, keepIdle: undefined });
    expect(a).toBe(b);
    expect(a).not.toBe(sets.defaults);
    expect(a).toEqual({ ...sets.defaults, noDelay: true });
    expect(Object.isFrozen(a)).toBe(true);
    expect(sets.defaults.noDelay).toBe(false);
    // Setting a value it already has returns the set itself; unknown keys are ignored.
    expect(sets.with(a, 'noDelay', true)).toBe(a);
    expect(sets.withAll(a, { bogus: 1 } as never)).toBe(a);
    expect(sets.size).toBe(2);
  });

  it('stays bounded: past the limit new sets are made but not remembered', () => {
    const sets = new OptionSets(DEFAULT_TCP_CONFIG);
    for (let i = 1; i <= 1000; i++) {
      const s = sets.with(sets.defaults, 'keepIdle', i);
      expect(s.keepIdle).toBe(i);
    }
    expect(sets.size).toBeLessThanOrEqual(256);
    expect(sets.with(sets.defaults, 'keepIdle', 5)).toBe(sets.with(sets.defaults, 'keepIdle', 5));
  });
});

describe('connections share option sets', () => {
  it('two accepted connections hold the same set until one changes an option', () => {
    const h = new TcpHarness();
    const l = h.listen(8);
    const conns: Connection[] = [];
    for (const port of [40001, 40002, 40003]) {
      h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: port });
      const sa = h.drain()[0]!;
      h.send({ seq: REMOTE_ISS + 1, ack: sa.seq + 1, flags: 'ACK', srcPort: port });
      conns.push(l.accept() as Connection);
    }
    const [a, b, c] = conns as [Connection, Connection, Connection];
    expect(a.localAddr).toBe(LOCAL);
    expect(b.remoteAddr).toBe(REMOTE);
    expect(b.localPort).toBe(LOCAL_PORT);
    expect(a.options).toBe(b.options);
    a.setOptions({ noDelay: true, keepIdle: 60 });
    expect(a.options).toMatchObject({ noDelay: true, keepIdle: 60 });
    expect(b.options.noDelay).toBe(false);
    expect(b.options.keepIdle).toBe(DEFAULT_TCP_CONFIG.keepaliveIdle);
    b.setOptions({ noDelay: true });
    b.setOptions({ keepIdle: 60 });
    expect(b.options).toBe(a.options);
    expect(c.options.noDelay).toBe(false);
  });
});
