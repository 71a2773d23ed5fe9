/**
 * TSO / GSO / GRO and checksum offload through the TAP's virtio_net_hdr, against the real
 * kernel in two namespaces this file creates and deletes:
 *
 *   ns S: tcpip0 (our stack, .2) --+                    ns K: vk (.1, the kernel peer:
 *                                  br0 -- vs ====veth====    Python sockets)
 *
 * vs has tx checksumming, TSO and GSO off, so the kernel must cut every super-frame we
 * send into MSS segments and compute every checksum itself (tcp_gso_segment from our
 * partial pseudo-header sum, then skb_checksum_help), and ns K's TCP verifies them all: a
 * wrong partial checksum or TSO header stalls the transfer. (Delivered locally, a partial
 * checksum would never be checked.) In the other direction vk sends TSO super-frames,
 * which reach the TAP whole, with partial checksums.
 *
 * With offloads on, 20 MB go each way (sha256 compared) and the stack's counters show that
 * super-frames came in (GRO/GSO) and went out (our TSO); with offloads off the same
 * transfers show none. A UDP datagram with a partial checksum (NEEDS_CSUM) from the kernel
 * must be accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../src/core/clock.js';
import { CryptoRng } from '../../src/core/rng.js';
import { createNetns, deleteNetns, ipIn, netnsPath, uniqueNetnsName } from '../../src/cli/netns.js';
import { TapLink } from '../../src/link/tap.js';
import { parseIp } from '../../src/ip/types.js';
import { Stack } from '../../src/stack.js';
import type { TcpConnection, TcpConnectionHandler } from '../../src/tcp/api.js';
import { tapSkipReason, waitFor } from '../helpers/netns.js';

const skip = tapSkipReason('tap/offload');
const SIZE = 20 * 1024 * 1024;

/** Kernel side, receiving: accept one connection, read to EOF, print "<bytes> <sha256>". */
const PY_SINK = `
import hashlib, socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(1)
print('listening', flush=True)
c, _ = ls.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
c.close()
print(n, h.hexdigest(), flush=True)
`;

/** Kernel side, sending: connect, send the file, half-close, wait for the peer's close. */
const PY_SOURCE = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(open(sys.argv[3], 'rb').read()); s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print('sent', flush=True)
`;

/** UDP from the kernel: one datagram (the kernel leaves its checksum partial when offloads are on). */
const PY_UDP = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes(range(256)) * 4, (sys.argv[1], int(sys.argv[2])))
`;

interface Proc {
  out: () => string;
  done: Promise<number | null>;
  kill: () => void;
}

function runIn(ns: string, args: string[]): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    out: () => out + err,
    done,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** `p`, or a rejection naming `what` after `ms` (a stalled transfer fails fast, with a reason). */
function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

function noopHandler(over: Partial<TcpConnectionHandler> = {}): TcpConnectionHandler {
  return { connected() {}, readable() {}, writable() {}, error() {}, closed() {}, ...over };
}

interface Counts {
  rxGso: number;
  txGso: number;
  rxCsumTrusted: number;
  txCsumPartial: number;
}

function counts(stack: Stack): Counts {
  const s = stack.device.stats();
  return { rxGso: s.rxGso, txGso: s.txGso, rxCsumTrusted: s.rxCsumTrusted, txCsumPartial: s.txCsumPartial };
}

function delta(a: Counts, b: Counts): Counts {
  return { rxGso: b.rxGso - a.rxGso, txGso: b.txGso - a.txGso, rxCsumTrusted: b.rxCsumTrusted - a.rxCsumTrusted, txCsumPartial: b.txCsumPartial - a.txCsumPartial };
}

describe.skipIf(skip !== undefined)('offloads through the TAP (virtio_net_hdr) against the real kernel', () => {
  let dir = '';
  let file = '';
  let fileHash = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tcpip-offload-'));
    file = join(dir, 'data.bin');
    const data = randomBytes(SIZE);
    writeFileSync(file, data);
    fileHash = createHash('sha256').update(data).digest('hex');
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  for (const offload of [true, false]) {
    describe(`offloads ${offload ? 'on' : 'off'}`, () => {
      const subnet = offload ? 41 : 42;
      const KERNEL = `10.77.${subnet}.1`;
      const STACK = `10.77.${subnet}.2`;
      /** ns S holds the TAP and the bridge; ns K the kernel peer (where `ns` commands run). */
      let nsS = '';
      let ns = '';
      let link: TapLink | undefined;
      let stack: Stack | undefined;
      const procs: Proc[] = [];

      beforeAll(() => {
        const tag = offload ? 'on' : 'off';
        try {
          nsS = createNetns(uniqueNetnsName(`offload-s-${tag}`));
          ns = createNetns(uniqueNetnsName(`offload-k-${tag}`));
          link = TapLink.open({ name: 'tcpip0', netns: netnsPath(nsS), offload });
          ipIn(ns, 'link', 'add', 'vk', 'type', 'veth', 'peer', 'name', 'vs', 'netns', nsS);
          ipIn(nsS, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
          for (const dev of ['vs', 'tcpip0']) ipIn(nsS, 'link', 'set', dev, 'master', 'br0');
          for (const dev of ['vs', 'tcpip0', 'br0']) ipIn(nsS, 'link', 'set', dev, 'up');
          ipIn(ns, 'addr', 'add', `${KERNEL}/24`, 'dev', 'vk');
          ipIn(ns, 'link', 'set', 'vk', 'up');
          const e = spawnSync('ip', ['netns', 'exec', nsS, 'ethtool', '-K', 'vs', 'tx', 'off', 'tso', 'off', 'gso', 'off'], { encoding: 'utf8' });
          if (e.status !== 0) throw new Error(`ethtool -K vs tx off tso off gso off: ${e.stderr || e.error?.message}`);
          stack = new Stack({ link, clock: new RealClock(), rng: new CryptoRng(), addr: `${STACK}/24`, offload });
        } catch (e) {
          stack?.close();
          link?.close();
          for (const n of [ns, nsS]) if (n !== '') deleteNetns(n);
          ns = nsS = '';
          throw e;
        }
      });

      afterAll(() => {
        for (const p of procs) p.kill();
        stack?.close();
        for (const n of [ns, nsS]) if (n !== '') deleteNetns(n);
      });

      it(`the TAP ${offload ? 'has' : 'has no'} checksum and TSO offloads on`, () => {
        expect(link!.offloads).toEqual({ csum: offload, tso4: offload });
        expect(stack!.device.offloads).toEqual(offload ? { csum: true, tsoMaxSize: 65535 } : undefined);
        // The kernel's view of the TAP: TUNSETOFFLOAD turned TSO on (or left it off).
        const k = spawnSync('ip', ['netns', 'exec', nsS, 'ethtool', '-k', 'tcpip0'], { encoding: 'utf8' }).stdout;
        expect(k).toMatch(new RegExp(`^tcp-segmentation-offload: ${offload ? 'on' : 'off'}`, 'm'));
      });

      it(`kernel -> stack: 20 MB intact${offload ? ', arriving as GRO/GSO super-frames with trusted checksums' : ', as plain frames'}`, async () => {
        const before = counts(stack!);
        const port = 5001;
        const l = stack!.tcp.listen(0, port, 4);
        if (typeof l === 'string') throw new Error(`listen: ${l}`);
        const hash = createHash('sha256');
        let received = 0;
        let eof = false;
        const buf = new Uint8Array(256 * 1024);
        let conn: TcpConnection | undefined;
        const drain = (): void => {
          let n: number;
          while ((n = conn!.read(buf)) > 0) {
            hash.update(buf.subarray(0, n));
            received += n;
          }
          if (conn!.eof && !eof) {
            eof = true;
            conn!.close();
          }
        };
        l.setHandler({
          acceptable() {
            const c = l.accept();
            if (c === undefined) return;
            conn = c;
            c.setHandler(noopHandler({ readable: drain }));
            drain();
          },
        });
        const src = runIn(ns, ['python3', '-c', PY_SOURCE, STACK, String(port), file]);
        procs.push(src);
        await waitFor(() => eof, 20_000, `EOF after ${SIZE} bytes (got ${received}; ${src.out()})`);
        expect(await src.done).toBe(0);
        l.close();
        expect(received).toBe(SIZE);
        expect(hash.digest('hex')).toBe(fileHash);
        const d = delta(before, counts(stack!));
        if (offload) {
          expect(d.rxGso).toBeGreaterThan(0);
          expect(d.rxCsumTrusted).toBeGreaterThan(0);
          expect(d.txCsumPartial).toBeGreaterThan(0); // our ACKs
        } else {
          expect(d).toEqual({ rxGso: 0, txGso: 0, rxCsumTrusted: 0, txCsumPartial: 0 });
        }
      });

      it(`stack -> kernel: 20 MB intact${offload ? ', leaving as TSO super-frames the kernel segments' : ', as MSS-sized frames'}`, async () => {
        const before = counts(stack!);
        const segsBefore = stack!.tcp.stats().OutSegs;
        const framesBefore = stack!.device.stats().txFrames;
        const port = 5002;
        const sink = runIn(ns, ['python3', '-c', PY_SINK, KERNEL, String(port)]);
        procs.push(sink);
        await waitFor(() => sink.out().includes('listening'), 10_000, `the kernel-side listener (${sink.out()})`);
        const data = new Uint8Array(SIZE);
        // The same bytes as the file, so the hash is the file's.
        data.set(readFileSync(file));
        let off = 0;
        let closed = false;
        let failed: string | undefined;
        let conn: TcpConnection | undefined = undefined;
        const pump = (): void => {
          while (off < SIZE) {
            const n = conn!.write(data.subarray(off, Math.min(SIZE, off + 1024 * 1024)));
            if (n <= 0) return;
            off += n;
          }
          if (!closed) {
            closed = true;
            conn!.close();
          }
        };
        const c = stack!.tcp.connect(0, 0, parseIp(KERNEL)!, port, noopHandler({ connected: () => pump(), writable: () => pump(), error: (e) => (failed = e) }));
        if (typeof c === 'string') throw new Error(`connect: ${c}`);
        conn = c;
        expect(await within(sink.done, 20_000, () => `the kernel to receive ${SIZE} bytes (${off} written; ${sink.out()})`)).toBe(0);
        expect(failed).toBeUndefined();
        expect(sink.out().trim().split('\n').pop()).toBe(`${SIZE} ${fileHash}`);
        const d = delta(before, counts(stack!));
        const segs = stack!.tcp.stats().OutSegs - segsBefore;
        const frames = stack!.device.stats().txFrames - framesBefore;
        if (offload) {
          expect(d.txGso).toBeGreaterThan(0);
          expect(d.txCsumPartial).toBeGreaterThan(0);
          // TSO: far fewer frames than segments on the wire (each super-frame is many MSS).
          expect(frames * 4).toBeLessThan(segs);
        } else {
          expect(d).toEqual({ rxGso: 0, txGso: 0, rxCsumTrusted: 0, txCsumPartial: 0 });
          expect(frames).toBeGreaterThanOrEqual(segs);
        }
      });

      it(`UDP from the kernel is accepted${offload ? ' with its partial checksum (NEEDS_CSUM)' : ''}`, async () => {
        const before = counts(stack!);
        const sock = stack!.udp.open();
        expect(sock.bind(0, 5003)).toBeUndefined();
        const p = runIn(ns, ['python3', '-c', PY_UDP, STACK, '5003']);
        procs.push(p);
        expect(await p.done).toBe(0);
        const buf = new Uint8Array(2048);
        let n = 0;
        await waitFor(() => (n = sock.recv(buf)) > 0, 3000, 'the datagram');
        sock.close();
        expect(n).toBe(1024);
        expect(buf.subarray(0, 256)).toEqual(Uint8Array.from({ length: 256 }, (_, i) => i));
        const d = delta(before, counts(stack!));
        if (offload) expect(d.rxCsumTrusted).toBe(1);
        else expect(d.rxCsumTrusted).toBe(0);
      });
    });
  }
});
