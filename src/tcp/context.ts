/**
 * What a connection or listener needs from its TcpLayer: the layers below (IpSender,
 * Clock, Rng), the stack-wide settings and counters, and a few services the layer keeps
 * (connection table, end-of-batch ACK flush, the RFC 5961 challenge ACK budget).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Rng } from '../core/rng.js';
import type { IpSender } from '../ip/types.js';
import type { TcpConfig } from './config.js';
import type { IsnGenerator } from './isn.js';
import type { TcpStats } from './stats.js';
import type { Connection } from './connection.js';
import type { OptionsOut } from './header.js';

export interface TcpContext {
  readonly ip: IpSender;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly config: Readonly<TcpConfig>;
  readonly counters: TcpStats;
  readonly logger: Logger;
  readonly isn: IsnGenerator;
  /** Scratch for building the options of one outgoing segment. */
  readonly optionsOut: OptionsOut;
  /** Scratch for SACK blocks (start, end pairs) taken from a ReceiveBuffer. */
  readonly sackScratch: Uint32Array;
  /** Per-4-tuple timestamp offset (RFC 7323 5.4; Linux secure_tcp_ts_off), stable so SYN cookies work. */
  tsOffset(localAddr: number, remoteAddr: number, localPort: number, remotePort: number): number;
  /** Connections now in TIME-WAIT (kept by Connection.setState; bounded by config.maxTimeWait). */
  timeWaitCount: number;
  /** True while the layer is inside a receive batch (pure ACKs wait for batchEnd, MUST-58/59). */
  readonly inBatch: boolean;
  /** Queue `c` so its pending ACK goes out once at the end of the batch. */
  deferAck(c: Connection): void;
  /** The connection reached CLOSED: forget it (connection table, port). */
  connectionClosed(c: Connection): void;
  /** RFC 5961 section 7: take one challenge ACK from the per-second budget; false when exhausted. */
  takeChallengeAck(): boolean;
  /** Log a line for the 'tcp' layer if enabled (the message is built only when logging is on). */
  debug(msg: () => string): void;
}
