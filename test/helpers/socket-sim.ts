/**
 * Two real stacks (Ethernet/ARP, IPv4, TCP, UDP) on one SimNetwork cable, each with a
 * SocketApi, all on virtual time: A = 10.77.0.1, B = 10.77.0.2. Drive calls with
 * `drive(sim, promise)` from socket-drive.ts.
 */
import { SeededRng } from '../../src/core/rng.js';
import { SimNetwork, type SimLinkOptions } from '../../src/link/sim.js';
import { SocketApi } from '../../src/socket/index.js';
import { Stack, type StackOptions } from '../../src/stack.js';

export const ADDR_A = 0x0a4d0001;
export const ADDR_B = 0x0a4d0002;

export interface TwoStacks {
  sim: SimNetwork;
  a: Stack;
  b: Stack;
  sa: SocketApi;
  sb: SocketApi;
}

export function twoStacks(
  opts: { seed?: number; link?: SimLinkOptions; a?: Partial<StackOptions>; b?: Partial<StackOptions> } = {},
): TwoStacks {
  const sim = new SimNetwork({ seed: opts.seed ?? 1, env: {} });
  const [la, lb] = sim.linkPair(opts.link ?? { delayMs: 1 });
  const a = new Stack({
    link: la,
    clock: sim.clock,
    rng: new SeededRng(sim.rng.nextU32()),
    addr: '10.77.0.1/24',
    mac: '02:00:00:00:00:01',
    ...opts.a,
  });
  const b = new Stack({
    link: lb,
    clock: sim.clock,
    rng: new SeededRng(sim.rng.nextU32()),
    addr: '10.77.0.2/24',
    mac: '02:00:00:00:00:02',
    ...opts.b,
  });
  const sa = new SocketApi({ tcp: a.tcp, udp: a.udp, clock: sim.clock, localAddr: a.addr });
  const sb = new SocketApi({ tcp: b.tcp, udp: b.udp, clock: sim.clock, localAddr: b.addr });
  return { sim, a, b, sa, sb };
}
