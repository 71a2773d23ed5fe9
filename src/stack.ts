/**
 * The one place that knows all layers: wires link -> Ethernet/ARP -> IPv4 -> TCP/UDP.
 * Sockets are built on top of a Stack (src/socket). Everything below takes its clock and
 * randomness from here, so the same Stack runs on a TAP in real time or inside a
 * SimNetwork on virtual time.
 */
import { existsSync } from 'node:fs';
import type { Clock } from './core/clock.js';
import { RealClock } from './core/clock.js';
import type { Logger } from './core/log.js';
import { consoleLogger, silentLogger } from './core/log.js';
import type { Rng } from './core/rng.js';
import { CryptoRng } from './core/rng.js';
import { StackError } from './core/errno.js';
import type { Link } from './link/link.js';
import { EthernetInterface } from './link/interface.js';
import type { ArpOptions } from './link/arp.js';
import { PcapWriter } from './link/pcap.js';
import { parseMac, randomLocalMac } from './link/mac.js';
import { Ipv4Layer } from './ip/layer.js';
import type { Ipv4LayerOptions } from './ip/layer.js';
import { parseCidr } from './ip/route.js';
import { IpProto, parseIp } from './ip/types.js';
import { TcpLayer } from './tcp/layer.js';
import type { TcpConfig } from './tcp/config.js';
import { UdpLayer } from './udp/udp.js';

export interface StackOptions {
  link: Link;
  clock: Clock;
  rng: Rng;
  /** Our address in CIDR form, e.g. '10.77.0.2/24'. */
  addr: string;
  /** Default gateway (dotted quad), optional. */
  gateway?: string;
  /** Our MAC; default: a random locally administered unicast MAC. */
  mac?: Uint8Array | string;
  /** Write every frame in and out to this pcap file (or writer). */
  pcap?: string | PcapWriter;
  logger?: Logger;
  tcp?: Partial<TcpConfig>;
  ip?: Ipv4LayerOptions;
  arp?: ArpOptions;
  /**
   * Use the link's checksum/segmentation offloads (TSO, GRO/GSO super-frames) when it has
   * them: a TapLink opened with `offload` (openStackFromEnv does, unless TCPIP_OFFLOAD=0).
   * Default true; in-memory links have none, so it changes nothing there.
   */
  offload?: boolean;
}

export class Stack {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly link: Link;
  readonly device: EthernetInterface;
  readonly ip: Ipv4Layer;
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  readonly addr: number;
  readonly prefixLen: number;
  readonly pcap: PcapWriter | undefined;
  private closed = false;

  constructor(opts: StackOptions) {
    const cidr = parseCidr(opts.addr);
    if (cidr === undefined) throw new StackError('EINVAL', `bad address ${JSON.stringify(opts.addr)}: expected CIDR like 10.77.0.2/24`);
    let gateway: number | undefined;
    if (opts.gateway !== undefined && opts.gateway !== '') {
      gateway = parseIp(opts.gateway);
      if (gateway === undefined) throw new StackError('EINVAL', `bad gateway ${JSON.stringify(opts.gateway)}: expected a dotted quad`);
    }
    let mac: Uint8Array;
    if (opts.mac === undefined || opts.mac === '') mac = randomLocalMac(opts.rng);
    else if (typeof opts.mac === 'string') {
      const m = parseMac(opts.mac);
      if (m === undefined) throw new StackError('EINVAL', `bad MAC ${JSON.stringify(opts.mac)}: expected 02:00:00:00:00:02 form`);
      mac = m;
    } else mac = opts.mac;

    this.clock = opts.clock;
    this.rng = opts.rng;
    this.link = opts.link;
    this.addr = cidr.addr;
    this.prefixLen = cidr.prefixLen;
    const logger = opts.logger ?? silentLogger;
    this.pcap = typeof opts.pcap === 'string' ? new PcapWriter({ clock: opts.clock, path: opts.pcap, timeOffsetMs: wallOffset(opts.clock) }) : opts.pcap;

    this.device = new EthernetInterface({
      link: opts.link,
      mac,
      clock: opts.clock,
      logger,
      ...(this.pcap !== undefined ? { pcap: this.pcap } : {}),
      ...(opts.arp !== undefined ? { arpOptions: opts.arp } : {}),
      offload: opts.offload ?? true,
    });
    this.ip = new Ipv4Layer({
      device: this.device,
      clock: opts.clock,
      rng: opts.rng,
      addr: cidr.addr,
      prefixLen: cidr.prefixLen,
      ...(gateway !== undefined ? { gateway } : {}),
      logger,
      ...(opts.ip !== undefined ? { options: opts.ip } : {}),
    });
    this.tcp = new TcpLayer({ ip: this.ip, clock: opts.clock, rng: opts.rng, logger, ...(opts.tcp !== undefined ? { config: opts.tcp } : {}) });
    this.udp = new UdpLayer({ ip: this.ip, clock: opts.clock, rng: opts.rng, logger });
    this.ip.register(IpProto.TCP, this.tcp);
    this.ip.register(IpProto.UDP, this.udp);
    this.device.start();
  }

  /** All counters, by layer (like /proc/net/snmp + netstat -s). */
  stats(): Record<string, unknown> {
    return {
      link: 'stats' in this.link && typeof this.link.stats === 'function' ? (this.link.stats as () => unknown)() : undefined,
      interface: this.device.stats(),
      ...this.ip.stats(),
      tcp: this.tcp.stats(),
      udp: { ...this.udp.counters },
    };
  }

  /** Stop everything: timers, the link, the pcap file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tcp.close?.();
    this.ip.close();
    this.device.close();
    this.pcap?.close();
    if (this.clock instanceof RealClock) this.clock.close();
  }
}

/** pcap timestamps are wall-clock for real runs (RealClock starts at 0 when created). */
function wallOffset(clock: Clock): number {
  return clock instanceof RealClock ? Date.now() - clock.now() : 0;
}

/** The namespace `tcpip net up` creates (src/cli/net.ts); openStackFromEnv uses it when TCPIP_NETNS is unset. */
export const DEFAULT_NETNS = 'tcpip';

/** The configuration contract (README): environment variables read by `tcpip up`, the examples and the demo. */
export interface EnvConfig {
  tap: string;
  netns: string | undefined;
  addr: string;
  gateway: string | undefined;
  mac: string | undefined;
  pcap: string | undefined;
  debug: string | undefined;
  /** TCPIP_OFFLOAD: 0 turns TSO/GSO/GRO and checksum offload through the TAP off (default 1: on when the kernel accepts them). */
  offload: boolean;
  /** TCPIP_TX_THREAD: 0 writes TX frames to the TAP on the JS thread (default 1: a native writer thread, TapOpenOptions.txThread). */
  txThread: boolean;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  return {
    tap: nonEmpty(env['TCPIP_TAP']) ?? 'tcpip0',
    netns: nonEmpty(env['TCPIP_NETNS']),
    addr: nonEmpty(env['TCPIP_ADDR']) ?? '10.77.0.2/24',
    gateway: nonEmpty(env['TCPIP_GATEWAY']),
    mac: nonEmpty(env['TCPIP_MAC']),
    pcap: nonEmpty(env['TCPIP_PCAP']),
    debug: nonEmpty(env['TCPIP_DEBUG']),
    offload: !/^(0|off|false|no)$/i.test(env['TCPIP_OFFLOAD'] ?? ''),
    txThread: !/^(0|off|false|no)$/i.test(env['TCPIP_TX_THREAD'] ?? ''),
  };
}

/**
 * Bring a stack up on the TAP named by TCPIP_TAP (inside TCPIP_NETNS when set, e.g. the
 * namespace `tcpip net up` created), with a real clock and crypto randomness.
 */
export async function openStackFromEnv(overrides: Partial<StackOptions> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Stack> {
  const cfg = configFromEnv(env);
  const { TapLink } = await import('./link/tap.js');
  const { netnsExists, netnsPath } = await import('./cli/netns.js');
  let netns = cfg.netns;
  // Without TCPIP_NETNS, attach to an existing TAP of this namespace, else use the namespace
  // `tcpip net up` made. Never create a TAP in the current (usually the host's) namespace
  // unless asked to with TCPIP_CREATE_TAP=1: a demo must not add interfaces to the host.
  if (netns === undefined && !existsSync(`/sys/class/net/${cfg.tap}`)) {
    if (netnsExists(DEFAULT_NETNS)) netns = DEFAULT_NETNS;
    else if (env['TCPIP_CREATE_TAP'] !== '1') {
      throw new StackError(
        'ENODEV',
        `TAP ${cfg.tap} does not exist in this network namespace and TCPIP_NETNS is not set: run 'tcpip net up' first (namespace '${DEFAULT_NETNS}'), set TCPIP_NETNS=<namespace>, or set TCPIP_CREATE_TAP=1 to create the TAP here`,
      );
    }
  }
  const link = TapLink.open({ name: cfg.tap, offload: cfg.offload, txThread: cfg.txThread, ...(netns !== undefined ? { netns: netnsPath(netns) } : {}) });
  const clock = new RealClock();
  return new Stack({
    link,
    clock,
    rng: new CryptoRng(),
    addr: cfg.addr,
    ...(cfg.gateway !== undefined ? { gateway: cfg.gateway } : {}),
    ...(cfg.mac !== undefined ? { mac: cfg.mac } : {}),
    ...(cfg.pcap !== undefined ? { pcap: cfg.pcap } : {}),
    logger: consoleLogger(cfg.debug),
    offload: cfg.offload,
    ...overrides,
  });
}
