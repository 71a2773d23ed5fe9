/**
 * Micro-benchmark of the foundation's per-packet paths, without TCP:
 *
 *   rx/ack60      EthernetInterface.receive -> Ipv4Layer -> a no-op transport handler, for
 *                 a 60-byte frame (a pure TCP ACK as Linux sends it: 54 bytes + padding)
 *   rx/data1514   the same for a full-size 1514-byte frame
 *   tx/ack40      Ipv4Layer.send of a 20-byte transport header -> EthernetInterface -> a
 *                 Link that drops the frame (ARP entry already resolved)
 *   tx/data1480   the same for a 1480-byte transport datagram (a 1500-byte IP datagram)
 *   ring/batch64  what TapLink does per RX batch: 64 frames published in a FrameRing (in
 *                 place, as the native reader does), drained into EthernetInterface.receive,
 *                 then batchEnd()
 *
 * Run it compiled, as the stack runs in production:
 *
 *   npx tsc -p . --outDir /tmp/tcpip-bench && node /tmp/tcpip-bench/bench/micro-ip-path.js
 *
 * (BENCH_TIME_MS=500 by default). `npx vite-node bench/micro-ip-path.ts` works too, but
 * vite-node's SSR transform turns every call of an imported function into a property
 * lookup on a module object, which makes these ~100 ns paths 2-3x slower and hides what
 * a change does.
 *
 * Prints one JSON object with packets per second and ns per packet for each path.
 * Each timed iteration runs a batch of packets so timer overhead does not dominate.
 */
import { Bench } from 'tinybench';
import { ManualClock } from '../src/core/clock.js';
import { SeededRng } from '../src/core/rng.js';
import { ArpOp, emitArp } from '../src/link/arp.js';
import { EtherType, emitEthernetHeader } from '../src/link/ethernet.js';
import { EthernetInterface } from '../src/link/interface.js';
import type { Link, LinkReceiver } from '../src/link/link.js';
import { FrameRing } from '../src/link/ring.js';
import { emitIpv4Header } from '../src/ip/ipv4.js';
import { Ipv4Layer } from '../src/ip/layer.js';
import type { IpProtocolHandler } from '../src/ip/types.js';

const US = 0x0a4d0002;
const PEER = 0x0a4d0001;
const MAC_US = Uint8Array.from([2, 0, 0, 0, 0, 2]);
const MAC_PEER = Uint8Array.from([2, 0, 0, 0, 0, 1]);

/** A Link that accepts and forgets every frame (counting bytes, so nothing is optimised away). */
class NullLink implements Link {
  readonly mtu = 1500;
  bytes = 0;
  receiver: LinkReceiver | undefined;
  send(frame: Uint8Array): boolean {
    this.bytes += frame.length;
    return true;
  }
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  close(): void {}
}

let delivered = 0;
const handler: IpProtocolHandler = {
  receive: (_info, payload) => {
    delivered += payload.length;
    return true;
  },
  receiveIcmpError: () => {},
};

const clock = new ManualClock(0);
const link = new NullLink();
const ifc = new EthernetInterface({ link, mac: MAC_US, clock });
const ip = new Ipv4Layer({ device: ifc, clock, rng: new SeededRng(1), addr: US, prefixLen: 24 });
ip.register(6, handler);
ifc.start();

// Resolve the peer: an ARP request from it for our address creates a reachable entry.
const arp = new Uint8Array(60);
emitEthernetHeader(arp, 0, new Uint8Array(6).fill(0xff), MAC_PEER, EtherType.ARP);
emitArp(arp, 14, ArpOp.REQUEST, MAC_PEER, PEER, undefined, US);
ifc.receive(arp);
if (ifc.arp.state(PEER) !== 'reachable') throw new Error('bench setup: ARP entry not resolved');

/** An Ethernet + IPv4 + `transportLen` bytes frame from the peer to us, padded to `frameLen`. */
function frame(transportLen: number, frameLen: number): Uint8Array {
  const f = new Uint8Array(frameLen);
  emitEthernetHeader(f, 0, MAC_US, MAC_PEER, EtherType.IPv4);
  emitIpv4Header(f, 14, { totalLength: 20 + transportLen, id: 7, ttl: 64, protocol: 6, src: PEER, dst: US, dontFragment: true });
  for (let i = 34; i < 34 + transportLen; i++) f[i] = i & 0xff;
  return f;
}

const ack60 = frame(20, 60);
const data1514 = frame(1480, 1514);
// Fill every slot once; later laps republish the same bytes with reserve() + commit()
// (slot i always holds the ACK when i is even, the full frame when odd).
const RING_SLOTS = 256;
const ring = FrameRing.create({ slots: RING_SLOTS, slotSize: 2048 });
for (let k = 0; k < RING_SLOTS; k++) ring.push((k & 1) === 0 ? ack60 : data1514);
ring.drain(() => {});
const visit = (f: Uint8Array): void => ifc.receive(f);

const BATCH = 1000;
const RING_BATCH = 64;
const paths: Record<string, { perIteration: number; fn: () => void }> = {
  'rx/ack60': { perIteration: BATCH, fn: () => { for (let k = 0; k < BATCH; k++) ifc.receive(ack60); } },
  'rx/data1514': { perIteration: BATCH, fn: () => { for (let k = 0; k < BATCH; k++) ifc.receive(data1514); } },
  'tx/ack40': { perIteration: BATCH, fn: () => { for (let k = 0; k < BATCH; k++) ip.send(PEER, 6, 20, { dontFragment: true }); } },
  'tx/data1480': { perIteration: BATCH, fn: () => { for (let k = 0; k < BATCH; k++) ip.send(PEER, 6, 1480, { dontFragment: true }); } },
  'ring/batch64': {
    perIteration: RING_BATCH,
    fn: () => {
      for (let k = 0; k < RING_BATCH; k++) {
        ring.reserve();
        ring.commit((k & 1) === 0 ? ack60.length : data1514.length);
      }
      ring.drain(visit);
      ifc.batchEnd();
    },
  },
};

const time = Number(process.env['BENCH_TIME_MS'] ?? 500);
const bench = new Bench({ time, warmupTime: 200 });
for (const [name, p] of Object.entries(paths)) bench.add(name, p.fn);
await bench.run();

const results: Record<string, unknown>[] = [];
for (const t of bench.tasks) {
  const r = t.result;
  if (r.state !== 'completed') {
    results.push({ path: t.name, state: r.state });
    continue;
  }
  const pps = (1000 / r.period) * paths[t.name]!.perIteration;
  results.push({ path: t.name, packetsPerSec: Math.round(pps), nsPerPacket: Number((1e9 / pps).toFixed(1)) });
}
const errors = ip.ipStats.InReceives - ip.ipStats.InDelivers;
console.log(JSON.stringify({ bench: 'micro-ip-path', node: process.version, results, sink: (delivered + link.bytes) & 1, undelivered: errors }, null, 2));
