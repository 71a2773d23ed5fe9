/**
 * TapLink: a Link over a Linux TAP device, through the tiny native addon in native/tap.cc.
 *
 * RX: the addon polls the fd on the libuv loop (no extra thread); when it is readable it
 * read()s up to `rxBudget` frames straight into the RX FrameRing and calls us once per
 * batch. We hand every frame to the receiver (a view into its ring slot, valid only
 * during the call), call receiver.batchEnd(), then flush what the batch queued for TX.
 *
 * TX: send() copies the frame into the TX FrameRing; one native flush() write()s all
 * pending frames. Sends made during an RX batch are flushed at its end; sends made
 * elsewhere (a timer, a socket call) schedule one flush per microtask checkpoint, so a
 * burst of sends costs one native call, not one per frame. Zero-copy TX (TxBufferLink):
 * txBuffer() lends the next TX slot's frame area (TX slots are 64 KB by default, room for
 * any datagram), the sender builds its frame there and sendTxBuffer(len) publishes it in
 * place: the frame is written once, by whoever builds it, and read once, by write().
 * With `txThread` a native writer thread does the write()s instead: flush() only hands the
 * published frames over (a futex wake when the writer sleeps) and returns at once, so the
 * kernel's per-frame work (TAP -> bridge -> veth -> the peer's TCP, run synchronously in
 * write()) overlaps the stack's JavaScript on another core. The ring protocol is the same.
 *
 * With `vnetHdr` every frame on the fd carries a virtio_net_hdr in front (10 bytes, or 12
 * after setVnetHdrSize(12)). By default TapLink strips it on RX, decodes it and hands it to
 * the receiver as a second argument (vnet.ts OffloadReceiver; a plain LinkReceiver ignores
 * it), and on TX writes the header send() was given, or a zeroed one (no checksum offload,
 * no GSO). Until setOffloads(true) (TUNSETOFFLOAD) the kernel completes every checksum and
 * segments every super-frame itself, so upper layers see plain Ethernet frames. With
 * `offload` (vnetHdr + GSO-sized slots) the receiver may turn that on: the kernel then hands
 * over 64 KB TCP super-frames with partial checksums and takes ours back (vnet.ts).
 * With `vnetHdrPassthrough` the receiver gets, and send() must supply, the raw header bytes.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { constants as osConstants, endianness as osEndianness } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { counters } from '../core/counters.js';
import type { Counters } from '../core/counters.js';
import { Errno, StackError } from '../core/errno.js';
import type { ErrnoName } from '../core/errno.js';
import { silentLogger } from '../core/log.js';
import type { Logger } from '../core/log.js';
import type { TxBufferLink } from './interface.js';
import type { Link, LinkReceiver } from './link.js';
import { FrameRing } from './ring.js';
import { decodeVnetHeader, encodeVnetHeader, NO_OFFLOADS, VNET_HDR_LEN, VNET_HDR_LEN_MRG, VnetHeader, type LinkOffloads, type OffloadLink, type OffloadReceiver } from './vnet.js';

export { VNET_HDR_LEN, VNET_HDR_LEN_MRG };

/** TUNSETOFFLOAD flags (linux/if_tun.h): what the kernel may hand us / accept from us. */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** Default slot: 4-byte length + 14 Ethernet + 4 VLAN + 1500 MTU + vnet header, rounded. */
export const TAP_SLOT_SIZE_DEFAULT = 2048;
/** Slot for 64 KB GSO super-frames with a virtio_net_hdr in front. */
export const TAP_SLOT_SIZE_GSO = 65536 + 64;

/** Ethernet header plus one VLAN tag: what a frame adds to the MTU. */
const ETH_OVERHEAD = 14 + 4;
const DEFAULT_DEVICE = '/dev/net/tun';
const DEFAULT_RX_BUDGET = 256;

export interface TapOpenOptions {
  /** Interface name (at most 15 bytes); an existing TAP is attached, else one is created. A '%d' template ("tap%d") lets the kernel pick. */
  name: string;
  /** Network namespace file (e.g. /var/run/netns/X, see netnsPath()); the TAP is created inside it. */
  netns?: string;
  /** IP MTU of the link (default 1500). The kernel side's MTU is set by whoever configures it. */
  mtu?: number;
  /** Open with IFF_VNET_HDR (frames carry a virtio_net_hdr on the fd). */
  vnetHdr?: boolean;
  /**
   * Prepare for TSO/GSO/GRO and checksum offload: implies vnetHdr (10-byte header) and
   * GSO-sized slots. The offloads themselves go on when the receiver calls setOffloads(true)
   * (EthernetInterface does, unless its `offload` option is false). Default false.
   */
  offload?: boolean;
  /** virtio_net_hdr size when vnetHdr: 10 (default) or 12 (TUNSETVNETHDRSZ). */
  vnetHdrSize?: number;
  /** Hand the virtio_net_hdr through to the receiver and expect it in send() (GSO work). */
  vnetHdrPassthrough?: boolean;
  /** Open with IFF_MULTI_QUEUE (open the same name again for more queues). */
  multiQueue?: boolean;
  /** RX / TX ring slots, powers of two (default 1024, or 256 with GSO-sized slots). */
  rxSlots?: number;
  txSlots?: number;
  /**
   * Bytes per ring slot incl. the 4-byte length, both rings. Default: RX 2048, or
   * TAP_SLOT_SIZE_GSO with vnetHdr; TX always TAP_SLOT_SIZE_GSO, so that txBuffer() can lend
   * a slot any datagram fits in (pages of a slot are touched only as far as frames reach).
   * Slots too small for a 64 KB datagram turn zero-copy TX off (send() copies).
   */
  slotSize?: number;
  /** Frames read per readiness event before yielding to the event loop (default 256). */
  rxBudget?: number;
  /**
   * Write TX frames on a native writer thread: flush() hands frames over and returns (a few
   * frames found with the writer asleep, <= 4, it still write()s itself: no wake-up latency);
   * it blocks only when the TX ring is full, until half of it is free. False (the default
   * here; openStackFromEnv turns it on unless TCPIP_TX_THREAD=0): flush() write()s every
   * pending frame on the JS thread.
   */
  txThread?: boolean;
  /** Character device to open (default /dev/net/tun); for tests of the error path. */
  devicePath?: string;
  /** Start with the fd not keeping the event loop alive (see unref()). */
  unref?: boolean;
  logger?: Logger;
}

export const TAP_COUNTERS = [
  'rxFrames',
  'rxBytes',
  'rxBatches',
  'rxNoReceiver',
  'rxRunt',
  'txFrames',
  'txBytes',
  /** Of txFrames: built in place in a slot lent by txBuffer() (no copy). */
  'txInPlace',
  /** sendTxBuffer() calls dropped because no slot was lent any more (a send() took it). */
  'txNotLent',
  'txRingFull',
  'txOversize',
  'txClosed',
  'flushes',
  'linkErrors',
] as const;

export type TapCounter = (typeof TAP_COUNTERS)[number];

/** TapLink counters (frames delivered to / accepted from the stack) plus the driver's own. */
export interface TapStats extends Counters<TapCounter> {
  /** Driver: frames read from the fd into the RX ring, and their bytes (vnet header included). */
  driverRxFrames: number;
  driverRxBytes: number;
  /** Driver: frames read and discarded because the RX ring was full or the frame filled a whole slot (rx.fullCount / rx.oversizeCount say which). */
  rxRingDrops: number;
  /** Driver: read() errors other than EAGAIN, and the last errno. */
  rxErrors: number;
  lastRxErrno: number;
  /** Driver: frames written to the fd, their bytes, write() errors and the last errno. */
  driverTxFrames: number;
  driverTxBytes: number;
  txErrors: number;
  lastTxErrno: number;
  /** Driver: times write() said EAGAIN and TX waited for writability. */
  txBlocked: number;
  /** Frames waiting in the TX ring. */
  txPending: number;
}

/** What native/tap.cc exports (see the comment at its top). */
export interface TapAddon {
  open(name: string, netns: string | null, flags: number, devicePath: string): { fd: number; ifname: string } | NativeError;
  closeFd(fd: number): void;
  TapDevice: new (fd: number, rx: Uint8Array, tx: Uint8Array, onBatch: (n: number) => void, rxBudget: number, txThread?: boolean) => NativeDevice;
  constants: Record<string, number> & { ring: Record<string, number> };
}

interface NativeError {
  errno: number;
  syscall: string;
  message: string;
}

interface NativeDevice {
  flush(): number;
  stats(): {
    rxFrames: number;
    rxBytes: number;
    rxDrops: number;
    rxErrors: number;
    lastRxErrno: number;
    batches: number;
    txFrames: number;
    txBytes: number;
    txErrors: number;
    lastTxErrno: number;
    txBlocked: number;
    pollErrors: number;
    /** Writer thread: running, times it went to sleep / was woken by flush(), flushes that waited for space, flushes written inline (writer asleep, <= 4 frames). */
    txThread: boolean;
    txSleeps: number;
    txWakes: number;
    txFullWaits: number;
    txInline: number;
  };
  setOffload(flags: number): number;
  setVnetHdrSize(size: number): number;
  ref(): void;
  unref(): void;
  close(): void;
}

/** Room a lent TX slot must have after the vnet header: Ethernet header + largest IPv4 datagram. */
const TX_BUFFER_MIN = 14 + 65535;

export class TapLink implements Link, OffloadLink, TxBufferLink {
  readonly ifname: string;
  readonly fd: number;
  readonly mtu: number;
  readonly rx: FrameRing;
  readonly tx: FrameRing;
  /** TX write()s happen on a native writer thread (TapOpenOptions.txThread). */
  readonly txThread: boolean;
  private hdrLen: number;
  private readonly passthrough: boolean;
  /** What setOffloads() turned on. */
  private offloadState: LinkOffloads = NO_OFFLOADS;
  /** The decoded virtio_net_hdr of the frame being delivered (reused). */
  private readonly rxVnet = new VnetHeader();
  private readonly dev: NativeDevice;
  private readonly log: Logger;
  private readonly c = counters(TAP_COUNTERS);
  private receiver: LinkReceiver | undefined = undefined;
  /** Views of the TX slots' frame areas (after the vnet header) lent by txBuffer(), made on first use. */
  private txViews: (Uint8Array | undefined)[] = [];
  /** Slot index lent by txBuffer() and not yet sent, or -1. */
  private txLent = -1;
  private inBatch = false;
  private flushScheduled = false;
  private closed = false;
  /** Driver counters as of close(), so stats() still reports them afterwards. */
  private last: Omit<TapStats, TapCounter | 'txPending'> = {
    driverRxFrames: 0,
    driverRxBytes: 0,
    rxRingDrops: 0,
    rxErrors: 0,
    lastRxErrno: 0,
    driverTxFrames: 0,
    driverTxBytes: 0,
    txErrors: 0,
    lastTxErrno: 0,
    txBlocked: 0,
  };
  private readonly visitBound = (slot: Uint8Array): void => this.deliver(slot);
  private readonly flushBound = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private constructor(ifname: string, fd: number, mtu: number, hdrLen: number, passthrough: boolean, rx: FrameRing, tx: FrameRing, addon: TapAddon, budget: number, txThread: boolean, log: Logger) {
    this.ifname = ifname;
    this.fd = fd;
    this.mtu = mtu;
    this.hdrLen = hdrLen;
    this.passthrough = passthrough;
    this.rx = rx;
    this.tx = tx;
    this.log = log;
    this.txThread = txThread;
    this.dev = new addon.TapDevice(fd, rx.bytes, tx.bytes, (n) => this.onBatch(n), budget, txThread);
  }

  /** Open (or create) the TAP and start receiving. Throws StackError with an actionable message. */
  static open(opts: TapOpenOptions): TapLink {
    const mtu = opts.mtu ?? 1500;
    const vnet = opts.vnetHdr === true || opts.offload === true;
    const hdrLen = vnet ? (opts.vnetHdrSize ?? VNET_HDR_LEN) : 0;
    const slotSize = opts.slotSize ?? (vnet ? TAP_SLOT_SIZE_GSO : TAP_SLOT_SIZE_DEFAULT);
    const txSlotSize = opts.slotSize ?? TAP_SLOT_SIZE_GSO;
    const rxSlots = opts.rxSlots ?? (slotSize > 4096 ? 256 : 1024);
    const txSlots = opts.txSlots ?? (txSlotSize > 4096 ? 256 : 1024);
    if (Buffer.byteLength(opts.name) > 15 || opts.name.length === 0) {
      throw new StackError('EINVAL', `interface name '${opts.name}' must be 1 to 15 bytes`);
    }
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new StackError('EINVAL', `MTU ${mtu} out of range [68, 65535]`);
    if (vnet && hdrLen !== VNET_HDR_LEN && hdrLen !== VNET_HDR_LEN_MRG) {
      throw new StackError('EINVAL', `vnetHdrSize ${hdrLen} must be ${VNET_HDR_LEN} or ${VNET_HDR_LEN_MRG}`);
    }
    // Strictly larger: the driver cannot tell a read that fills the slot from a cut one.
    if (slotSize - 4 <= hdrLen + mtu + ETH_OVERHEAD) {
      throw new StackError('EINVAL', `slotSize ${slotSize} cannot hold a ${mtu}-byte MTU frame (needs ${hdrLen + mtu + ETH_OVERHEAD + 5})`);
    }
    // Plain ArrayBuffers: only this thread (and the addon, on the same event loop) touches
    // the rings, and copies into and out of SharedArrayBuffer memory are ~13x slower (ring.ts).
    const rx = FrameRing.create({ slots: rxSlots, slotSize, shared: false });
    const tx = FrameRing.create({ slots: txSlots, slotSize: txSlotSize, shared: false });
    const budget = Math.min(opts.rxBudget ?? DEFAULT_RX_BUDGET, rxSlots);

    const addon = loadTapAddon();
    const c = addon.constants;
    const flags = (vnet ? c.OPEN_VNET_HDR! : 0) | (opts.multiQueue === true ? c.OPEN_MULTI_QUEUE! : 0);
    const r = addon.open(opts.name, opts.netns ?? null, flags, opts.devicePath ?? DEFAULT_DEVICE);
    if ('errno' in r) throw openError(r, opts);

    let link: TapLink;
    try {
      link = new TapLink(r.ifname, r.fd, mtu, hdrLen, opts.vnetHdrPassthrough === true, rx, tx, addon, budget, opts.txThread === true, opts.logger ?? silentLogger);
    } catch (e) {
      addon.closeFd(r.fd);
      throw e;
    }
    if (vnet && hdrLen !== VNET_HDR_LEN) {
      try {
        link.setVnetHdrSize(hdrLen);
      } catch (e) {
        link.close();
        throw e;
      }
    }
    // A persistent TAP keeps the offloads a previous user turned on (tun set_features).
    // Start from none, so the kernel never hands a super-frame to a reader that did not ask
    // (without a vnet header it could not even tell one). Other queues share the device.
    if (opts.multiQueue !== true) link.trySetOffload(0);
    if (opts.unref === true) link.unref();
    return link;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }

  /** Size of the virtio_net_hdr on the fd (0 without vnetHdr). */
  get vnetHdrSize(): number {
    return this.hdrLen;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queue one frame. With a vnet header on the fd, `vnet` says what the kernel must still do
   * (complete the checksum, segment a super-frame); undefined writes a zeroed header.
   */
  send(frame: Uint8Array, vnet?: VnetHeader): boolean {
    if (this.closed) {
      this.c.txClosed++;
      return false;
    }
    const hdr = this.passthrough ? 0 : this.hdrLen;
    const len = hdr + frame.length;
    if (len > this.tx.frameCapacity) {
      this.c.txOversize++;
      if (this.log.enabled('tap')) this.log.log('tap', `tx drop: ${frame.length}-byte frame exceeds slot capacity ${this.tx.frameCapacity - hdr}`);
      return false;
    }
    // A send() takes the next slot: a slot lent by txBuffer() is no longer lent.
    this.txLent = -1;
    if (!this.enqueue(frame, hdr, len, vnet)) {
      // Ring full: write out what is pending, then try once more.
      this.flush();
      if (!this.enqueue(frame, hdr, len, vnet)) {
        this.c.txRingFull++;
        if (this.log.enabled('tap')) this.log.log('tap', `tx drop: ring full (${this.tx.slotCount} frames pending, fd not writable)`);
        return false;
      }
    }
    this.c.txFrames++;
    this.c.txBytes += frame.length;
    if (!this.inBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
    return true;
  }

  private enqueue(frame: Uint8Array, hdr: number, len: number, vnet: VnetHeader | undefined): boolean {
    if (hdr === 0) return this.tx.push(frame);
    const slot = this.tx.reserve();
    if (slot === undefined) return false;
    // Without metadata a zeroed virtio_net_hdr: flags 0 (checksum complete), GSO_NONE.
    encodeVnetHeader(slot, 0, vnet, hdr);
    slot.set(frame, hdr);
    return this.tx.commit(len);
  }

  /**
   * TxBufferLink: the next TX slot's frame area to build a frame in (see TxBufferLink).
   * When the ring is full, pending frames are written out first.
   */
  txBuffer(): Uint8Array | undefined {
    // Passthrough senders write the raw vnet header themselves: they get no lent slot.
    if (this.closed || this.passthrough) return undefined;
    if (this.txLent >= 0 && this.tx.reserved) return this.txViews[this.txLent];
    const hdr = this.hdrLen;
    if (this.tx.frameCapacity - hdr < TX_BUFFER_MIN) return undefined;
    let i = this.tx.reserveIndex();
    if (i < 0) {
      this.flush();
      i = this.tx.reserveIndex();
      if (i < 0) return undefined;
    }
    this.txLent = i;
    let v = this.txViews[i];
    if (v === undefined) {
      const off = this.tx.dataOffset(i) + hdr;
      v = this.tx.bytes.subarray(off, off + this.tx.frameCapacity - hdr);
      this.txViews[i] = v;
    }
    return v;
  }

  /** TxBufferLink: queue the first `len` bytes of the lent slot (false: nothing lent, or closed). */
  sendTxBuffer(len: number, vnet?: VnetHeader): boolean {
    const i = this.txLent;
    this.txLent = -1;
    if (this.closed) {
      this.c.txClosed++;
      return false;
    }
    const hdr = this.hdrLen;
    if (i < 0 || !this.tx.reserved) {
      this.c.txNotLent++;
      if (this.log.enabled('tap')) this.log.log('tap', `tx drop: sendTxBuffer(${len}) but no slot is lent (a send() took it)`);
      return false;
    }
    if (!(len >= 0 && hdr + len <= this.tx.frameCapacity)) {
      this.c.txOversize++;
      if (this.log.enabled('tap')) this.log.log('tap', `tx drop: sendTxBuffer(${len}) exceeds the slot's ${this.tx.frameCapacity - hdr} bytes`);
      return false;
    }
    // Without metadata a zeroed virtio_net_hdr: flags 0 (checksum complete), GSO_NONE.
    if (hdr > 0) encodeVnetHeader(this.tx.bytes, this.tx.dataOffset(i), vnet, hdr);
    this.tx.commit(hdr + len);
    this.c.txFrames++;
    this.c.txInPlace++;
    this.c.txBytes += len;
    if (!this.inBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
    return true;
  }

  /**
   * Write every frame pending in the TX ring now. Returns the number written; with txThread,
   * the number of frames handed to the writer thread since the previous flush() (written
   * soon after, in order; stats().driverTxFrames counts those written). With txThread it
   * waits only when the ring is full, until half of it is free.
   */
  flush(): number {
    if (this.closed) return 0;
    this.c.flushes++;
    return this.dev.flush();
  }

  /** TUNSETOFFLOAD with TunOffload flags (needs vnetHdr to be useful). */
  setOffload(flags: number): void {
    const err = this.closed ? Errno.EBADF : this.dev.setOffload(flags);
    if (err !== 0) throw errnoError(err, `TUNSETOFFLOAD 0x${flags.toString(16)} on ${this.ifname}`);
  }

  /**
   * OffloadLink: TUNSETOFFLOAD(CSUM | TSO4 | TSO6) on, or 0 off. On, the kernel hands us
   * partial checksums and 64 KB TCP super-frames (GRO/GSO) and accepts ours (TSO); a
   * kernel that refuses TSO gets checksum offload alone, one that refuses both none. Needs
   * vnetHdr (without passthrough) and a little-endian host (the header's byte order).
   */
  setOffloads(on: boolean): LinkOffloads {
    this.offloadState = NO_OFFLOADS;
    if (this.closed || this.hdrLen === 0 || this.passthrough || osEndianness() !== 'LE') return NO_OFFLOADS;
    if (!on) {
      this.trySetOffload(0);
      return NO_OFFLOADS;
    }
    // Large enough for a 64 KB IPv4 datagram behind an Ethernet header?
    const gsoSlots = this.rx.frameCapacity > this.hdrLen + ETH_OVERHEAD + 65535;
    if (gsoSlots && this.trySetOffload(TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6)) {
      this.offloadState = Object.freeze({ csum: true, tso4: true });
    } else if (this.trySetOffload(TunOffload.CSUM)) {
      this.offloadState = Object.freeze({ csum: true, tso4: false });
    }
    return this.offloadState;
  }

  /** What setOffloads() turned on (NO_OFFLOADS until then). */
  get offloads(): LinkOffloads {
    return this.offloadState;
  }

  private trySetOffload(flags: number): boolean {
    try {
      this.setOffload(flags);
      return true;
    } catch (e) {
      if (this.log.enabled('tap')) this.log.log('tap', `${this.ifname}: ${(e as Error).message}; offloads stay off`);
      return false;
    }
  }

  /** TUNSETVNETHDRSZ: 10 or 12 bytes of virtio_net_hdr in front of every frame. */
  setVnetHdrSize(size: number): void {
    if (this.hdrLen === 0) throw new StackError('EINVAL', `${this.ifname} was not opened with vnetHdr`);
    const err = this.closed ? Errno.EBADF : this.dev.setVnetHdrSize(size);
    if (err !== 0) throw errnoError(err, `TUNSETVNETHDRSZ ${size} on ${this.ifname}`);
    this.hdrLen = size;
    // Lent views start after the header: make them again for the new size.
    this.txViews = [];
    this.txLent = -1;
  }

  /** Let the process exit while the TAP is open (the fd stops keeping the event loop alive). */
  unref(): void {
    if (!this.closed) this.dev.unref();
  }

  ref(): void {
    if (!this.closed) this.dev.ref();
  }

  stats(): TapStats {
    const d = this.closed ? undefined : this.dev.stats();
    const s = { ...this.c } as TapStats;
    s.driverRxFrames = d?.rxFrames ?? this.last.driverRxFrames;
    s.driverRxBytes = d?.rxBytes ?? this.last.driverRxBytes;
    s.rxRingDrops = d?.rxDrops ?? this.last.rxRingDrops;
    s.rxErrors = d?.rxErrors ?? this.last.rxErrors;
    s.lastRxErrno = d?.lastRxErrno ?? this.last.lastRxErrno;
    s.driverTxFrames = d?.txFrames ?? this.last.driverTxFrames;
    s.driverTxBytes = d?.txBytes ?? this.last.driverTxBytes;
    s.txErrors = d?.txErrors ?? this.last.txErrors;
    s.lastTxErrno = d?.lastTxErrno ?? this.last.lastTxErrno;
    s.txBlocked = d?.txBlocked ?? this.last.txBlocked;
    s.txPending = this.closed ? 0 : this.tx.size();
    return s;
  }

  /**
   * Flush pending frames, stop polling and close the fd. Idempotent; nothing fires afterwards.
   * With txThread, the writer thread writes what is pending (unless the fd blocks) and is
   * joined before the fd is closed.
   */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.dev.close();
    const s = this.stats(); // the driver's counters stay readable after its close()
    this.closed = true;
    this.receiver = undefined;
    this.last = s;
  }

  // ---- receive path ---------------------------------------------------------------------

  private onBatch(n: number): void {
    if (this.closed) return;
    if (n < 0) {
      // The driver stopped polling: the interface was deleted or the fd broke.
      this.c.linkErrors++;
      if (this.log.enabled('tap')) this.log.log('tap', `${this.ifname}: poll error ${errnoName(-n)}, receive stopped`);
      return;
    }
    this.inBatch = true;
    try {
      this.rx.drain(this.visitBound);
      this.c.rxBatches++;
      this.receiver?.batchEnd?.();
    } finally {
      this.inBatch = false;
      this.flush();
    }
  }

  private deliver(slot: Uint8Array): void {
    let frame = slot;
    let vnet: VnetHeader | undefined;
    if (this.hdrLen !== 0 && !this.passthrough) {
      if (slot.length < this.hdrLen) {
        this.c.rxRunt++;
        if (this.log.enabled('tap')) this.log.log('tap', `rx drop: ${slot.length}-byte read shorter than the ${this.hdrLen}-byte vnet header`);
        return;
      }
      frame = slot.subarray(this.hdrLen);
      vnet = decodeVnetHeader(slot, 0, this.rxVnet);
    }
    const r = this.receiver;
    if (r === undefined) {
      this.c.rxNoReceiver++;
      return;
    }
    this.c.rxFrames++;
    this.c.rxBytes += frame.length;
    if (vnet === undefined) r.receive(frame);
    else (r as OffloadReceiver).receive(frame, vnet);
  }
}

// ---- addon loading and errors ---------------------------------------------------------------

/** The package root: the nearest directory above this file holding package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new StackError('ENOENT', `no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Load build/Release/tap.node (Node caches it after the first call). */
export function loadTapAddon(): TapAddon {
  const root = packageRoot();
  const path = join(root, 'build', 'Release', 'tap.node');
  if (!existsSync(path)) {
    throw new StackError('ENOENT', `TAP addon ${path} is not built: run 'npm install' (or 'npm run build') in ${root}`);
  }
  return createRequire(join(root, 'package.json'))(path) as TapAddon;
}

const ERRNO_BY_NUMBER: ReadonlyMap<number, ErrnoName> = new Map<number, ErrnoName>(Object.entries(Errno).map(([k, v]) => [v, k as ErrnoName]));

function errnoName(n: number): string {
  const known = ERRNO_BY_NUMBER.get(n);
  if (known !== undefined) return known;
  for (const [k, v] of Object.entries(osConstants.errno)) if (v === n) return k;
  return `errno ${n}`;
}

/** A StackError for an errno; errnos outside our table become EIO with the real name in the text. */
function errnoError(n: number, what: string): StackError {
  const code = ERRNO_BY_NUMBER.get(n);
  return code !== undefined ? new StackError(code, what) : new StackError('EIO', `${what} (${errnoName(n)})`);
}

function openError(r: NativeError, opts: TapOpenOptions): StackError {
  const dev = opts.devicePath ?? DEFAULT_DEVICE;
  const name = opts.name;
  const ns = opts.netns ?? '';
  const e = r.errno;
  const perm = e === Errno.EPERM || e === Errno.EACCES;
  let msg: string;
  switch (r.syscall) {
    case 'open(netns)':
      msg = e === Errno.ENOENT
        ? `network namespace ${ns} does not exist (create it with 'ip netns add <name>')`
        : `cannot open network namespace ${ns}: ${r.message}`;
      break;
    case 'setns(netns)':
      msg = e === Errno.EINVAL
        ? `${ns} is not a network namespace`
        : perm
          ? `entering network namespace ${ns} needs CAP_SYS_ADMIN: run as root`
          : `cannot enter network namespace ${ns}: ${r.message}`;
      break;
    case 'open(/dev/net/tun)':
      msg = e === Errno.ENOENT || e === Errno.ENODEV || e === 6 /* ENXIO */
        ? `${dev} is missing: load the tun module (modprobe tun) or give the container --device /dev/net/tun`
        : perm
          ? `cannot open ${dev}: run as root or grant CAP_NET_ADMIN`
          : `cannot open ${dev}: ${r.message}`;
      break;
    case 'ioctl(TUNSETIFF)':
      msg = perm
        ? `creating or attaching TAP '${name}' needs CAP_NET_ADMIN: run as root or grant CAP_NET_ADMIN`
        : e === Errno.EBUSY
          ? `TAP '${name}' is busy: another file descriptor is attached to it (use multiQueue on every open to share it)`
          : e === Errno.EINVAL
            ? `'${name}' exists but is not a TAP with matching flags (multi-queue / vnet header), or the flags were rejected`
            : `TUNSETIFF '${name}' failed: ${r.message}`;
      break;
    default:
      msg = `${r.syscall} failed for '${name}': ${r.message}`;
  }
  return errnoError(e, msg);
}
