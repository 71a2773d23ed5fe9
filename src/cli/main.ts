#!/usr/bin/env node
/**
 * The `tcpip` command.
 *
 *   tcpip up [--netns NAME]          bring the stack up on TCPIP_TAP, serve until SIGINT/SIGTERM
 *   tcpip net up|down [--netns NAME] create/remove the namespace holding the TAP (kernel side 10.77.0.1/24)
 *   tcpip demo [--netns NAME]        namespace + TAP + stack + the demo servers, removed on exit
 *   tcpip ping <ip> [-c N]           ping from the stack (needs a namespace: run `tcpip net up` first)
 *
 * Configuration (environment): TCPIP_TAP (tcpip0), TCPIP_ADDR (10.77.0.2/24),
 * TCPIP_GATEWAY, TCPIP_MAC, TCPIP_PCAP, TCPIP_NETNS, TCPIP_DEBUG.
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { isStackError } from '../core/errno.js';
import { formatMac } from '../link/mac.js';
import { ipToString, parseIp } from '../ip/types.js';
import { ping } from '../ip/ping.js';
import { configFromEnv, openStackFromEnv } from '../stack.js';
import type { Stack } from '../stack.js';
import { packageRoot } from '../link/tap.js';
import { DEFAULT_NETNS, netDown, netUp, planNet } from './net.js';
import { netnsExists } from './netns.js';

const USAGE = `usage:
  tcpip up [--netns NAME]            bring the stack up on TCPIP_TAP and serve ARP/ICMP until Ctrl-C
  tcpip net up|down [--netns NAME]   create/remove the namespace (default '${DEFAULT_NETNS}') with the TAP
  tcpip demo [--netns NAME]          namespace + TAP + stack + demo servers (what 'npm start' runs)
  tcpip ping <ip> [-c N]             send echo requests from the stack
environment: TCPIP_TAP (tcpip0) TCPIP_ADDR (10.77.0.2/24) TCPIP_GATEWAY TCPIP_MAC TCPIP_PCAP TCPIP_NETNS TCPIP_DEBUG`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

function describe(stack: Stack): string {
  return `stack ${ipToString(stack.addr)}/${stack.prefixLen} mac ${formatMac(stack.device.mac)} on ${configFromEnv().tap}`;
}

/** Resolve on SIGINT/SIGTERM (once). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

async function cmdUp(args: string[]): Promise<void> {
  const netns = option(args, '--netns');
  if (netns !== undefined) process.env['TCPIP_NETNS'] = netns;
  const stack = await openStackFromEnv();
  console.log(`${describe(stack)}: up (Ctrl-C to stop)`);
  const sig = await untilSignal();
  console.log(`${sig}: closing`);
  console.log(JSON.stringify(stack.stats()));
  stack.close();
}

function cmdNet(args: string[]): void {
  const netns = option(args, '--netns') ?? DEFAULT_NETNS;
  const cfg = configFromEnv();
  const sub = args[0];
  if (sub === 'up') {
    const plan = planNet(netns, cfg.tap, cfg.addr);
    netUp(plan);
    console.log(`namespace '${netns}': ${plan.tap} with the kernel at ${plan.kernelAddr}; now run: TCPIP_NETNS=${netns} tcpip up`);
  } else if (sub === 'down') {
    netDown(netns);
    console.log(`namespace '${netns}' removed`);
  } else {
    throw new Error(USAGE);
  }
}

async function cmdDemo(args: string[]): Promise<void> {
  const netns = option(args, '--netns') ?? DEFAULT_NETNS;
  const cfg = configFromEnv();
  const plan = planNet(netns, cfg.tap, cfg.addr);
  netUp(plan);
  let stack: Stack | undefined;
  try {
    process.env['TCPIP_NETNS'] = netns;
    stack = await openStackFromEnv();
    const demoPath = path.join(packageRoot(), 'dist', 'examples', 'demo.js');
    const demo = (await import(pathToFileURL(demoPath).href)) as { startDemo(stack: Stack, plan: { netns: string; kernelAddr: string }): Promise<() => void> };
    const stopServers = await demo.startDemo(stack, { netns, kernelAddr: plan.kernelAddr });
    console.log(`\n${describe(stack)} in namespace '${netns}' (kernel side ${plan.kernelAddr})`);
    console.log(`  ping it:        ip netns exec ${netns} ping -c 3 ${ipToString(stack.addr)}`);
    console.log('Ctrl-C stops the demo and removes the namespace.');
    const sig = await untilSignal();
    console.log(`${sig}: stopping`);
    stopServers();
  } finally {
    stack?.close();
    netDown(netns);
  }
}

async function cmdPing(args: string[]): Promise<void> {
  const count = Number(option(args, '-c') ?? '4');
  const target = args[0] === undefined ? undefined : parseIp(args[0]);
  if (target === undefined) throw new Error(USAGE);
  const stack = await openStackFromEnv();
  try {
    for (let i = 0; i < count; i++) {
      try {
        const r = await ping(stack.ip, target, { timeoutMs: 1000, seq: i + 1 });
        console.log(`${r.bytes} bytes from ${ipToString(target)}: icmp_seq=${i + 1} ttl=${r.ttl} time=${r.rttMs.toFixed(3)} ms`);
      } catch (e) {
        console.log(`icmp_seq=${i + 1}: ${isStackError(e) ? e.message : String(e)}`);
      }
    }
  } finally {
    stack.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const args = argv.slice();
  const cmd = args.shift();
  switch (cmd) {
    case 'up':
      return cmdUp(args);
    case 'net':
      return cmdNet(args);
    case 'demo':
      return cmdDemo(args);
    case 'ping':
      return cmdPing(args);
    default:
      console.log(USAGE);
      if (cmd !== undefined && cmd !== 'help' && cmd !== '--help') process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (isStackError(e)) console.error(`tcpip: ${e.message}`);
  else console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
