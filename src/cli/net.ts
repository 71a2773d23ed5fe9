/**
 * `tcpip net up|down`: the network namespace the stack lives beside. It holds a
 * persistent TAP (TCPIP_TAP, default tcpip0) whose kernel side has 10.77.0.1/24 (the
 * first host of the stack's subnet); the stack attaches to that TAP from the host
 * namespace through the TAP driver's netns option, so nothing appears outside it.
 */
import { StackError } from '../core/errno.js';
import { parseCidr, prefixMask } from '../ip/route.js';
import { ipToString } from '../ip/types.js';
import { createNetns, deleteNetns, ipIn, netnsExists } from './netns.js';

export { DEFAULT_NETNS } from '../stack.js';

export interface NetPlan {
  netns: string;
  tap: string;
  /** Kernel side of the TAP, CIDR. */
  kernelAddr: string;
  /** The stack's address, CIDR. */
  stackAddr: string;
}

/** Kernel side = the first host of the stack's subnet (10.77.0.1/24 for 10.77.0.2/24), or .2 if the stack took .1. */
export function planNet(netns: string, tap: string, stackAddr: string): NetPlan {
  const c = parseCidr(stackAddr);
  if (c === undefined) throw new StackError('EINVAL', `bad TCPIP_ADDR ${JSON.stringify(stackAddr)}: expected CIDR like 10.77.0.2/24`);
  const net = (c.addr & prefixMask(c.prefixLen)) >>> 0;
  let kernel = (net + 1) >>> 0;
  if (kernel === c.addr) kernel = (net + 2) >>> 0;
  return { netns, tap, kernelAddr: `${ipToString(kernel)}/${c.prefixLen}`, stackAddr };
}

export function netUp(plan: NetPlan): void {
  if (netnsExists(plan.netns)) {
    throw new StackError('EEXIST', `network namespace '${plan.netns}' already exists (remove it with: tcpip net down --netns ${plan.netns})`);
  }
  createNetns(plan.netns);
  try {
    ipIn(plan.netns, 'tuntap', 'add', 'dev', plan.tap, 'mode', 'tap');
    ipIn(plan.netns, 'addr', 'add', plan.kernelAddr, 'dev', plan.tap);
    ipIn(plan.netns, 'link', 'set', plan.tap, 'up');
  } catch (e) {
    deleteNetns(plan.netns);
    throw e;
  }
}

export function netDown(netns: string): void {
  deleteNetns(netns);
}
