/**
 * UDP sockets over two real stacks on a SimNetwork: IPv4 fragmentation of big datagrams,
 * ICMP port unreachable from the real IPv4 layer, and datagram boundaries.
 */
import { describe, expect, it } from 'vitest';
import { INADDR_ANY, PF_INET, SOCK_DGRAM, sockaddr_in } from '../../src/socket/index.js';
import { drive, errnoOf } from '../helpers/socket-drive.js';
import { ADDR_A, twoStacks } from '../helpers/socket-sim.js';

const B = '10.77.0.2';

describe('UDP over two stacks', () => {
  it('a 60000-byte datagram is fragmented by IPv4 and arrives whole; boundaries are kept', async () => {
    const env = twoStacks();
    const s = env.sb.socket(PF_INET, SOCK_DGRAM, 0);
    env.sb.bind(s, { addr: INADDR_ANY, port: 9192 });
    const c = env.sa.socket(PF_INET, SOCK_DGRAM, 0);
    const big = new Uint8Array(60000).map((_, i) => (i * 31) & 0xff);
    const buf = new Uint8Array(65536);
    const from = sockaddr_in();
    // First a small one, so ARP has resolved B before the 41 fragments go out (the ARP
    // layer queues only 3 datagrams per unresolved neighbour, like lwIP).
    expect(await env.sa.sendto(c, 'first', undefined, 0, { addr: B, port: 9192 })).toBe(5);
    expect(await drive(env.sim, env.sb.recvfrom(s, buf, buf.length))).toBe(5);
    expect(await env.sa.sendto(c, big, undefined, 0, { addr: B, port: 9192 })).toBe(60000);
    expect(await env.sa.sendto(c, 'small', undefined, 0, { addr: B, port: 9192 })).toBe(5);
    expect(await drive(env.sim, env.sb.recvfrom(s, buf, buf.length, 0, from))).toBe(60000);
    expect(Buffer.compare(Buffer.from(buf.subarray(0, 60000)), Buffer.from(big))).toBe(0);
    expect(from.addr).toBe(ADDR_A);
    expect(await drive(env.sim, env.sb.recvfrom(s, buf, buf.length))).toBe(5);
    expect(env.b.udp.counters.InDatagrams).toBe(3);
    expect(env.a.udp.counters.OutDatagrams).toBe(3);
  });

  it('a connected socket gets ECONNREFUSED from the ICMP port unreachable the peer IPv4 sends', async () => {
    const env = twoStacks();
    const c = env.sa.socket(PF_INET, SOCK_DGRAM, 0);
    await env.sa.connect(c, { addr: B, port: 9999 });
    await env.sa.send(c, 'anyone?');
    expect(await errnoOf(drive(env.sim, env.sa.recv(c, new Uint8Array(10))))).toBe('ECONNREFUSED');
    expect(env.b.udp.counters.NoPorts).toBe(1);
  });

  it('uecho: the server answers each datagram to its source', async () => {
    const env = twoStacks();
    const serv_sock = env.sb.socket(PF_INET, SOCK_DGRAM, 0);
    env.sb.bind(serv_sock, { addr: INADDR_ANY, port: 9192 });
    const server = (async () => {
      const message = new Uint8Array(30);
      const clnt_adr = sockaddr_in();
      for (let i = 0; i < 3; i++) {
        const n = await env.sb.recvfrom(serv_sock, message, 30, 0, clnt_adr);
        await env.sb.sendto(serv_sock, message, n, 0, clnt_adr);
      }
    })();
    const sock = env.sa.socket(PF_INET, SOCK_DGRAM, 0);
    const buf = new Uint8Array(30);
    for (const m of ['one\n', 'two\n', 'three\n']) {
      await env.sa.sendto(sock, m, undefined, 0, { addr: B, port: 9192 });
      const n = await drive(env.sim, env.sa.recvfrom(sock, buf, 30));
      expect(Buffer.from(buf.subarray(0, n)).toString()).toBe(m);
    }
    await drive(env.sim, server);
  });
});
