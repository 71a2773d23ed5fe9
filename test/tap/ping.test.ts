/**
 * The foundation end to end against the real kernel: the Linux kernel in a fresh network
 * namespace pings our stack through a TAP; its neighbour table learns our MAC; the pcap
 * the stack wrote shows the echo request/reply pairs when read back by tshark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RealClock } from '../../src/core/clock.js';
import { CryptoRng } from '../../src/core/rng.js';
import { createNetns, deleteNetns, ipIn, netnsPath, uniqueNetnsName } from '../../src/cli/netns.js';
import { TapLink } from '../../src/link/tap.js';
import { formatMac } from '../../src/link/mac.js';
import { ping } from '../../src/ip/ping.js';
import { parseIp } from '../../src/ip/types.js';
import { Stack, configFromEnv } from '../../src/stack.js';
import { tapSkipReason } from '../helpers/netns.js';

const execFileP = promisify(execFile);
const skip = tapSkipReason('tap/ping');
const STACK = '10.77.10.2';
const KERNEL = '10.77.10.1';

describe.skipIf(skip !== undefined)('kernel <-> stack over a TAP: ARP and ICMP', () => {
  let ns = '';
  let stack: Stack | undefined;
  let dir = '';
  let pcapPath = '';

  beforeAll(() => {
    ns = uniqueNetnsName('ping');
    createNetns(ns);
    dir = mkdtempSync(join(tmpdir(), 'tcpip-ping-'));
    pcapPath = join(dir, 'ping.pcap');
    const link = TapLink.open({ name: 'tcpip0', netns: netnsPath(ns), offload: configFromEnv().offload, txThread: configFromEnv().txThread });
    ipIn(ns, 'addr', 'add', `${KERNEL}/24`, 'dev', 'tcpip0');
    ipIn(ns, 'link', 'set', 'tcpip0', 'up');
    stack = new Stack({ link, clock: new RealClock(), rng: new CryptoRng(), addr: `${STACK}/24`, pcap: pcapPath });
  });

  afterAll(() => {
    stack?.close();
    if (ns !== '') deleteNetns(ns);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('answers `ping -c 5` from the kernel with 5 replies', async () => {
    const { stdout } = await execFileP('ip', ['netns', 'exec', ns, 'ping', '-c', '5', '-i', '0.2', '-W', '2', STACK], { timeout: 20_000 });
    expect(stdout).toMatch(/5 packets transmitted, 5 received/);
  });

  it("the kernel's neighbour table learned the stack's MAC", () => {
    const neigh = ipIn(ns, 'neigh', 'show', STACK, 'dev', 'tcpip0');
    expect(neigh.toLowerCase()).toContain(formatMac(stack!.device.mac));
  });

  it('pings the kernel from the stack', async () => {
    const r = await ping(stack!.ip, parseIp(KERNEL)!, { timeoutMs: 2000 });
    expect(r.ttl).toBe(64);
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('the pcap shows the echo request/reply pairs to tshark', () => {
    stack!.pcap!.close();
    if (spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status !== 0) {
      console.warn('[tap/ping] tshark not installed: pcap check skipped');
      return;
    }
    const r = spawnSync('tshark', ['-r', pcapPath, '-Y', 'icmp', '-T', 'fields', '-e', 'icmp.type', '-e', 'icmp.seq', '-e', 'ip.src'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    const requests = lines.filter(([type, , src]) => type === '8' && src === KERNEL).map(([, seqNo]) => seqNo);
    const replies = lines.filter(([type, , src]) => type === '0' && src === STACK).map(([, seqNo]) => seqNo);
    expect(requests.length).toBeGreaterThanOrEqual(5);
    for (const s of requests) expect(replies).toContain(s);
  });
});
