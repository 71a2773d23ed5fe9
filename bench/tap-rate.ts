/**
 * TAP driver throughput: frames/s and Gbit/s into JavaScript (RX) and out of it (TX),
 * for minimum-size and full-size Ethernet frames.
 *
 *   npx tsc -p . && node dist/bench/tap-rate.js [--seconds 3] [--sizes 60,1514] [--gen c|python] [--txqueuelen N]
 *
 * Prints one JSON object on stdout (progress goes to stderr). Frame sizes are the bytes
 * the TAP carries (no FCS): 60 is a 64-byte frame on a real wire, 1514 a full one.
 *
 * RX: in a fresh namespace the kernel owns 10.77.99.1/24 on the TAP and has a permanent
 * neighbour 10.77.99.2 -> 02:00:00:00:00:02 (the "stack"); a UDP blaster inside the
 * namespace sends to 10.77.99.2 as fast as it can (a tiny C sendmmsg() loop compiled
 * with gcc, or Python when gcc is missing). We count frames reaching the JS receiver and
 * read the kernel's own counters (frames the TAP handed out and frames it dropped because
 * we were not reading fast enough).
 * TX: JS sends frames through TapLink.send() (TX ring + batched native flush) in a tight
 * loop; the kernel's rx counters on the TAP confirm the count. The frames are IPv4 to a
 * MAC that is not the TAP's, so the kernel counts them and drops them in ip_rcv.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, deleteNetns, ipIn, linkStats, netnsPath, spawnIn, tapAvailable, tryExecIn, uniqueNetnsName } from '../src/cli/netns.js';
import { TapLink } from '../src/link/tap.js';

const IFNAME = 'tbench0';
const KERNEL_ADDR = '10.77.99.1';
const STACK_ADDR = '10.77.99.2';
const STACK_MAC = '02:00:00:00:00:02';
const UDP_PORT = '9';
/** Ethernet + IPv4 + UDP headers in front of the UDP payload. */
const UDP_OVERHEAD = 14 + 20 + 8;

const BLASTER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
/* udp-blast DST PORT PAYLOAD SECONDS: sendmmsg() batches of 64 until SECONDS pass. */
int main(int argc, char **argv) {
  if (argc != 5) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("socket/connect"); return 1; }
  size_t len = (size_t)atoi(argv[3]);
  double secs = atof(argv[4]);
  static char buf[65536];
  struct mmsghdr m[64];
  struct iovec iov[64];
  memset(m, 0, sizeof m);
  for (int i = 0; i < 64; i++) { iov[i].iov_base = buf; iov[i].iov_len = len; m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned long sent = 0, errors = 0;
  for (;;) {
    int r = sendmmsg(s, m, 64, 0);
    if (r > 0) sent += (unsigned long)r; else errors++;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= secs) break;
  }
  printf("{\"sent\":%lu,\"errors\":%lu}\n", sent, errors);
  return 0;
}
`;

const BLASTER_PY = `
import socket, sys, time
dst, port, size, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((dst, port))
p = b'x' * size
end = time.monotonic() + secs
sent = errors = 0
while time.monotonic() < end:
    for _ in range(256):
        try:
            s.send(p); sent += 1
        except OSError:
            errors += 1
print('{"sent":%d,"errors":%d}' % (sent, errors))
`;

interface Args {
  seconds: number;
  sizes: number[];
  gen: 'c' | 'python' | 'auto';
  /** Kernel-side TAP queue (the tun ring between the kernel and our reads); 0 keeps the default. */
  txqueuelen: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 3, sizes: [60, 1514], gen: 'auto', txqueuelen: 0 };
  for (let i = 0; i + 1 < argv.length; i += 2) {
    const v = argv[i + 1]!;
    if (argv[i] === '--seconds') a.seconds = Math.min(30, Math.max(0.5, Number(v) || 3));
    else if (argv[i] === '--sizes') a.sizes = v.split(',').map(Number).filter((n) => n >= 60 && n <= 1514);
    else if (argv[i] === '--gen') a.gen = v === 'c' || v === 'python' ? v : 'auto';
    else if (argv[i] === '--txqueuelen') a.txqueuelen = Math.min(65536, Math.max(0, Math.floor(Number(v)) || 0));
  }
  return a;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => void process.stderr.write(`[tap-rate] ${msg}\n`);

/** Compile the C blaster into a temp dir; undefined when gcc is unavailable. */
function buildBlaster(dir: string): string | undefined {
  const src = join(dir, 'udp-blast.c');
  const bin = join(dir, 'udp-blast');
  writeFileSync(src, BLASTER_C);
  try {
    execFileSync('gcc', ['-O2', '-o', bin, src], { stdio: 'pipe' });
    return bin;
  } catch (e) {
    log(`gcc failed, falling back to python: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<string> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      if (child.pid !== undefined) child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

async function rxCase(ns: string, link: TapLink, frameBytes: number, seconds: number, blaster: string | undefined, children: Set<ChildProcess>): Promise<Record<string, number>> {
  let frames = 0;
  let bytes = 0;
  link.setReceiver({
    receive(f) {
      frames++;
      bytes += f.length;
    },
  });
  const payload = frameBytes - UDP_OVERHEAD;
  const warm = 0.3;
  const total = seconds + warm + 0.3;
  const args = [STACK_ADDR, UDP_PORT, String(payload), String(total)];
  const child = blaster !== undefined ? spawnIn(ns, blaster, args) : spawnIn(ns, 'python3', ['-c', BLASTER_PY, ...args]);
  children.add(child);
  const done = waitExit(child, (total + 5) * 1000);
  await sleep(warm * 1000);
  const k0 = linkStats(ns, IFNAME);
  const d0 = link.stats();
  const f0 = frames;
  const b0 = bytes;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const t1 = performance.now();
  const f1 = frames;
  const b1 = bytes;
  const d1 = link.stats();
  const k1 = linkStats(ns, IFNAME);
  const gen = JSON.parse((await done).trim() || '{}') as { sent?: number; errors?: number };
  children.delete(child);
  const dt = (t1 - t0) / 1000;
  const batches = d1.rxBatches - d0.rxBatches;
  return {
    frameBytes,
    rxFramesPerSec: Math.round((f1 - f0) / dt),
    rxGbps: +(((b1 - b0) * 8) / dt / 1e9).toFixed(3),
    kernelTxFramesPerSec: Math.round((k1.txPackets - k0.txPackets) / dt),
    kernelTxDroppedPerSec: Math.round((k1.txDropped - k0.txDropped) / dt),
    framesPerBatch: +(batches > 0 ? (f1 - f0) / batches : 0).toFixed(1),
    rxRingDrops: d1.rxRingDrops - d0.rxRingDrops,
    /** CPU of this process (user+sys) over the window: 100 = one core busy. */
    jsCpuPercent: Math.round((cpu.user + cpu.system) / 10 / (t1 - t0)),
    generatorSent: gen.sent ?? -1,
    seconds: +dt.toFixed(3),
  };
}

async function txCase(ns: string, link: TapLink, frameBytes: number, seconds: number): Promise<Record<string, number>> {
  const frame = new Uint8Array(frameBytes);
  frame.set([0x02, 0, 0, 0, 0, 0x99], 0); // not the TAP's MAC: the kernel counts, then drops
  frame.set([0x02, 0, 0, 0, 0, 0x02], 6);
  frame[12] = 0x08; // IPv4
  frame[14] = 0x45;
  const k0 = linkStats(ns, IFNAME);
  const d0 = link.stats();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  let refused = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1024; i++) {
      if (link.send(frame)) sent++;
      else refused++;
    }
  }
  link.flush();
  const t1 = performance.now();
  await sleep(50);
  const d1 = link.stats();
  const k1 = linkStats(ns, IFNAME);
  const dt = (t1 - t0) / 1000;
  const written = d1.driverTxFrames - d0.driverTxFrames;
  return {
    frameBytes,
    txFramesPerSec: Math.round(written / dt),
    txGbps: +((written * frameBytes * 8) / dt / 1e9).toFixed(3),
    kernelRxFramesPerSec: Math.round((k1.rxPackets - k0.rxPackets) / dt),
    kernelRxFrames: k1.rxPackets - k0.rxPackets,
    driverTxFrames: written,
    sendAccepted: sent,
    sendRefused: refused,
    txErrors: d1.txErrors - d0.txErrors,
    flushes: d1.flushes - d0.flushes,
    seconds: +dt.toFixed(3),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const avail = tapAvailable();
  if (!avail.ok) {
    process.stdout.write(`${JSON.stringify({ skipped: avail.reason })}\n`);
    return;
  }
  const ns = uniqueNetnsName('bench');
  const tmp = mkdtempSync(join(tmpdir(), 'tcpip-tap-rate-'));
  const children = new Set<ChildProcess>();
  let link: TapLink | undefined;
  const stop = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    link?.close();
    deleteNetns(ns);
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    createNetns(ns);
    link = TapLink.open({ name: IFNAME, netns: netnsPath(ns) });
    tryExecIn(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    ipIn(ns, 'addr', 'add', `${KERNEL_ADDR}/24`, 'dev', IFNAME);
    if (args.txqueuelen > 0) ipIn(ns, 'link', 'set', IFNAME, 'txqueuelen', String(args.txqueuelen));
    ipIn(ns, 'link', 'set', IFNAME, 'up');
    ipIn(ns, 'neigh', 'add', STACK_ADDR, 'lladdr', STACK_MAC, 'dev', IFNAME, 'nud', 'permanent');
    const blaster = args.gen === 'python' ? undefined : buildBlaster(tmp);
    const rx: Record<string, number>[] = [];
    const tx: Record<string, number>[] = [];
    for (const size of args.sizes) {
      log(`RX ${size}-byte frames for ${args.seconds}s`);
      rx.push(await rxCase(ns, link, size, args.seconds, blaster, children));
      log(`TX ${size}-byte frames for ${args.seconds}s`);
      tx.push(await txCase(ns, link, size, args.seconds));
    }
    const result = {
      bench: 'tap-rate',
      node: process.version,
      generator: blaster !== undefined ? 'c-sendmmsg' : 'python',
      kernelTxqueuelen: (JSON.parse(ipIn(ns, '-j', 'link', 'show', 'dev', IFNAME)) as Array<{ txqlen?: number }>)[0]?.txqlen ?? -1,
      rxSlots: link.rx.slotCount,
      txSlots: link.tx.slotCount,
      rx,
      tx,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`[tap-rate] ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
