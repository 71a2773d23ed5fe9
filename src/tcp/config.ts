/**
 * Stack-wide TCP settings, the equivalent of Linux's net.ipv4.tcp_* sysctls. Times in ms
 * unless the name says seconds. Every connection reads them from its TcpLayer.
 */
import type { CongestionName } from './api.js';

export type SyncookieMode = 'on-overflow' | 'always' | 'off';

export interface TcpConfig {
  /** Maximum segment lifetime; TIME-WAIT lasts 2*MSL (RFC 9293 3.4.2, MUST-13). Linux's TIME-WAIT is 60 s. */
  msl: number;
  /** Orphaned FIN-WAIT-2 lifetime (Linux tcp_fin_timeout, 60 s). */
  finTimeout: number;
  /** RFC 6298 bounds: minRto 1000 (RFC) or 200 (Linux), maxRto 60 s, initial 1 s. */
  minRto: number;
  maxRto: number;
  initialRto: number;
  /** R2 for data (RFC 9293 3.8.3, MUST-20): retransmissions of the same data before giving up (tcp_retries2). */
  retries2: number;
  /**
   * Zero-window probes an orphaned connection (closed by its application, data or FIN still
   * queued) sends before it gives up even though the peer answers them (Linux
   * tcp_orphan_retries, whose 0 means 8; RFC 6429 allows aborting a persist condition for
   * resource management). Without it a peer that keeps its window shut holds the connection
   * forever.
   */
  orphanRetries: number;
  /** SYN retransmissions in SYN-SENT (tcp_syn_retries). */
  synRetries: number;
  /** SYN-ACK retransmissions in SYN-RECEIVED (tcp_synack_retries). */
  synAckRetries: number;
  /** RFC 4987 SYN cookies: when the SYN queue overflows (Linux default 1), always (2), or never (0). */
  syncookies: SyncookieMode;
  /** Offer/accept SACK-permitted (RFC 2018). */
  sack: boolean;
  /** Offer/accept timestamps (RFC 7323). */
  timestamps: boolean;
  /** Offer/accept window scaling (RFC 7323). */
  windowScaling: boolean;
  defaultSendBuffer: number;
  defaultRecvBuffer: number;
  /** Delayed ACK timeout (RFC 1122 4.2.3.2: under 0.5 s, MUST-40). Linux's minimum is 40 ms. */
  delayedAckMs: number;
  /** Most out-of-order ranges kept by the reassembler (passed on when the ReceiveBuffer supports it). */
  maxOutOfOrderRanges: number;
  /** RFC 5961 section 7: challenge ACKs per second, stack-wide (Linux tcp_challenge_ack_limit). */
  challengeAckLimit: number;
  /** Keepalive defaults in seconds (tcp_keepalive_time / _intvl / _probes): 7200, 75, 9. */
  keepaliveIdle: number;
  keepaliveInterval: number;
  keepaliveCount: number;
  defaultCongestion: CongestionName;
  /** Ephemeral ports (ip_local_port_range). */
  ephemeralLow: number;
  ephemeralHigh: number;
  /** Lowest MSS we will use whatever the peer or ICMP says (Linux tcp_min_snd_mss). */
  minMss: number;
  /**
   * Most connections in TIME-WAIT at once (Linux tcp_max_tw_buckets). A connection that would
   * enter TIME-WAIT beyond it closes at once instead (TCPTimeWaitOverflow), so a host closing
   * thousands of connections per second keeps a bounded table (TIME-WAIT lasts 2*MSL).
   */
  maxTimeWait: number;
  /** Largest listen() backlog (Linux net.core.somaxconn): bounds the SYN and accept queues. */
  maxBacklog: number;
  /**
   * RACK-TLP loss detection (RFC 8985) on SACK connections: time-based loss marking, lost
   * retransmissions detected without an RTO, and tail loss probes (Linux tcp_recovery=1 with
   * tcp_early_retrans=3, its default). Off: RFC 6675's DupThresh rule and the RTO only.
   */
  rackTlp: boolean;
}

export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  msl: 30_000,
  finTimeout: 60_000,
  minRto: 1000,
  maxRto: 60_000,
  initialRto: 1000,
  retries2: 15,
  orphanRetries: 8,
  synRetries: 6,
  synAckRetries: 5,
  syncookies: 'on-overflow',
  sack: true,
  timestamps: true,
  windowScaling: true,
  defaultSendBuffer: 256 * 1024,
  defaultRecvBuffer: 256 * 1024,
  delayedAckMs: 40,
  maxOutOfOrderRanges: 64,
  challengeAckLimit: 1000,
  keepaliveIdle: 7200,
  keepaliveInterval: 75,
  keepaliveCount: 9,
  defaultCongestion: 'cubic',
  ephemeralLow: 32768,
  ephemeralHigh: 60999,
  minMss: 48,
  maxTimeWait: 32768,
  maxBacklog: 4096,
  rackTlp: true,
});
