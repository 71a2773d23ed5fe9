/**
 * The benchmark network: two fresh namespaces joined by a veth pair, and on the stack side
 * a bridge joining the veth to the TAP our stack uses.
 *
 *   tcpip-bench-cli-<pid>-N                 tcpip-bench-stk-<pid>-N
 *   +--------------------+                  +---------------------------------------+
 *   | bcli0 10.77.200.1  |==== veth ========| bstk0 --+                            |
 *   | (iperf3 -c, C load |                  |         br0 10.77.200.2 (kernel side) |
 *   |  generators)       |                  | btap0 --+  <- our stack, 10.77.200.3  |
 *   +--------------------+                  +---------------------------------------+
 *
 * kernel->kernel traffic goes veth -> bridge -> the stk namespace's own TCP; kernel->stack
 * goes veth -> bridge -> TAP -> our stack. Both cross the same veth and bridge, so the
 * kernel row is a fair ceiling for the stack rows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createNetns, deleteNetns, ipIn, uniqueNetnsName } from '../src/cli/netns.js';

export const CLI_ADDR = '10.77.200.1';
export const KERNEL_ADDR = '10.77.200.2';
export const STACK_ADDR = '10.77.200.3';
export const PREFIX = 24;
export const STACK_MAC = '02:00:00:4d:c8:03';
export const CLI_IF = 'bcli0';
export const STK_IF = 'bstk0';
export const BRIDGE = 'br0';
export const TAP = 'btap0';

export interface Topology {
  cli: string;
  stk: string;
}

/** Build both namespaces and the links. On failure, whatever was built is removed. */
export function buildTopology(): Topology {
  const cli = uniqueNetnsName('bench-cli');
  const stk = uniqueNetnsName('bench-stk');
  const topo = { cli, stk };
  try {
    createNetns(cli);
    createNetns(stk);
    // The veth is born in cli and its peer moved straight into stk: nothing in the host namespace.
    ipIn(cli, 'link', 'add', CLI_IF, 'type', 'veth', 'peer', 'name', STK_IF, 'netns', stk);
    ipIn(cli, 'addr', 'add', `${CLI_ADDR}/${PREFIX}`, 'dev', CLI_IF);
    ipIn(cli, 'link', 'set', CLI_IF, 'up');
    ipIn(stk, 'link', 'add', BRIDGE, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    ipIn(stk, 'link', 'set', STK_IF, 'master', BRIDGE);
    ipIn(stk, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    ipIn(stk, 'link', 'set', TAP, 'master', BRIDGE);
    ipIn(stk, 'addr', 'add', `${KERNEL_ADDR}/${PREFIX}`, 'dev', BRIDGE);
    for (const dev of [STK_IF, TAP, BRIDGE]) ipIn(stk, 'link', 'set', dev, 'up');
    // Plenty of ports and quick reuse for the connection-rate client; room for 10k connections.
    sysctl(cli, 'net.ipv4.ip_local_port_range', '1024 65000');
    sysctl(cli, 'net.ipv4.tcp_tw_reuse', '1');
    sysctl(stk, 'net.core.somaxconn', '8192');
    sysctl(stk, 'net.ipv4.tcp_max_syn_backlog', '8192');
    return topo;
  } catch (e) {
    destroyTopology(topo);
    throw e;
  }
}

/** Delete both namespaces (and with them the veth, bridge and TAP). Never throws. */
export function destroyTopology(t: Topology): string[] {
  const errors: string[] = [];
  for (const ns of [t.cli, t.stk]) {
    try {
      deleteNetns(ns);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return errors;
}

export function sysctl(ns: string, key: string, value: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`], { stdio: 'pipe' });
}

/**
 * TSO/GSO/GRO off on both veth ends, the bridge and the TAP. There is no "back on": the
 * defaults differ per device (veth has GRO off unless asked), so the suite runs every
 * default-offload case first and turns them off once.
 */
export function offloadsOff(t: Topology): void {
  const v = 'off';
  const set = (ns: string, dev: string): void => {
    // Features a device does not have are reported, not fatal: ignore ethtool's exit status.
    spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', v, 'gso', v, 'gro', v], { stdio: 'ignore' });
  };
  set(t.cli, CLI_IF);
  set(t.stk, STK_IF);
  set(t.stk, BRIDGE);
  set(t.stk, TAP);
}

/** The current tso/gso/gro state of one device ("tso=on gso=on gro=off"). */
export function offloadState(ns: string, dev: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev], { encoding: 'utf8' });
  const get = (name: string): string => new RegExp(`^${name}:\\s*(\\w+)`, 'm').exec(r.stdout ?? '')?.[1] ?? '?';
  return `tso=${get('tcp-segmentation-offload')} gso=${get('generic-segmentation-offload')} gro=${get('generic-receive-offload')}`;
}

/**
 * Which frames lose: 'to-stk' is what the client sends (the data of client-sends tests, the
 * ACKs of -R tests), 'to-cli' what the stk namespace sends toward the client (the data of
 * -R tests: the kernel's or our stack's, both cross the veth the same way).
 */
export type LossDirection = 'to-stk' | 'to-cli';

/**
 * Random loss on one direction of the veth. `tc qdisc ... netem loss P%` on the sending
 * veth end when the kernel has netem; kernels without it (this sandbox's) get the same drop
 * from nftables instead, at the receiving veth end's ingress (netdev hook, before the
 * bridge or the client's IP): the sender sees a silent loss on the wire either way. Frames
 * cross the veth as they were sent: with TSO/GSO on, one "frame" is a super-frame of up to
 * 64 KB, and a drop loses all of it. Returns how the loss is applied; undefined turns it
 * off (both directions).
 */
export function setLoss(t: Topology, percent: number | undefined, direction: LossDirection = 'to-stk'): string {
  if (percent === undefined) {
    spawnSync('ip', ['netns', 'exec', t.cli, 'tc', 'qdisc', 'del', 'dev', CLI_IF, 'root'], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'exec', t.stk, 'tc', 'qdisc', 'del', 'dev', STK_IF, 'root'], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'exec', t.stk, 'nft', 'delete', 'table', 'netdev', 'tcpipbench'], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'exec', t.cli, 'nft', 'delete', 'table', 'netdev', 'tcpipbench'], { stdio: 'ignore' });
    return 'off';
  }
  const [txNs, txIf, rxNs, rxIf] = direction === 'to-stk' ? [t.cli, CLI_IF, t.stk, STK_IF] : [t.stk, STK_IF, t.cli, CLI_IF];
  const netem = spawnSync('ip', ['netns', 'exec', txNs, 'tc', 'qdisc', 'replace', 'dev', txIf, 'root', 'netem', 'loss', `${percent}%`], { encoding: 'utf8' });
  if (netem.status === 0) return `netem loss ${percent}% on ${txIf}`;
  const rules = `table netdev tcpipbench {
  chain loss {
    type filter hook ingress device "${rxIf}" priority 0; policy accept;
    numgen random mod ${Math.round(100 / percent)} < 1 counter drop
  }
}
`;
  const nft = spawnSync('ip', ['netns', 'exec', rxNs, 'nft', '-f', '-'], { input: rules, encoding: 'utf8' });
  if (nft.status === 0) return `nft random drop 1/${Math.round(100 / percent)} at ${rxIf} ingress (no netem in this kernel)`;
  throw new Error(`cannot emulate loss: netem: ${(netem.stderr || netem.error?.message || '').trim()}; nft: ${(nft.stderr || nft.error?.message || '').trim()}`);
}

/** Frames the nft loss rule dropped so far (0 with netem or when off). */
export function nftDropped(t: Topology, direction: LossDirection = 'to-stk'): number {
  const r = spawnSync('ip', ['netns', 'exec', direction === 'to-stk' ? t.stk : t.cli, 'nft', 'list', 'table', 'netdev', 'tcpipbench'], { encoding: 'utf8' });
  const m = /counter packets (\d+)/.exec(r.stdout ?? '');
  return m === null ? 0 : Number(m[1]);
}
