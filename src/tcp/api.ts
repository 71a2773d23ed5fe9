/**
 * The contract between the TCP engine and the socket layer above it (src/socket).
 * The socket layer never reaches into TCP internals: it uses only what is here.
 *
 * Errors are errno names (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EADDRINUSE, ...).
 */
import type { ErrnoName } from '../core/errno.js';

export type TcpStateName =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export type CongestionName = 'newreno' | 'cubic';

/** Per-connection options (the socket options that reach TCP). All optional; defaults like Linux. */
export interface TcpOptions {
  /** TCP_NODELAY: disable Nagle. Default false. */
  noDelay?: boolean;
  /** SO_KEEPALIVE and TCP_KEEPIDLE / TCP_KEEPINTVL (seconds) / TCP_KEEPCNT. Defaults off, 7200, 75, 9. */
  keepAlive?: boolean;
  keepIdle?: number;
  keepInterval?: number;
  keepCount?: number;
  /** SO_SNDBUF / SO_RCVBUF in bytes. */
  sendBufferSize?: number;
  recvBufferSize?: number;
  /** TCP_MAXSEG: clamp our MSS. */
  maxSegment?: number;
  /** TCP_CONGESTION. Default 'cubic' (like Linux). */
  congestion?: CongestionName;
}

/** Callbacks from a connection to its owner. Set once; called synchronously from the stack. */
export interface TcpConnectionHandler {
  /** Active open completed: ESTABLISHED. */
  connected(): void;
  /** Data or EOF became readable. */
  readable(): void;
  /** Send-buffer space became available (after it was full) or all data was acknowledged. */
  writable(): void;
  /** The connection failed: reset by peer (ECONNRESET), refused (ECONNREFUSED), timed out (ETIMEDOUT), unreachable (EHOSTUNREACH). */
  error(code: ErrnoName): void;
  /** The connection reached CLOSED (gracefully or not); no more callbacks follow. */
  closed(): void;
}

/** Equivalent of Linux TCP_INFO. Times in ms. */
export interface TcpInfo {
  state: TcpStateName;
  cwnd: number;
  ssthresh: number;
  srtt: number;
  rttvar: number;
  rto: number;
  mss: number;
  bytesInFlight: number;
  retransmits: number;
  totalRetransmits: number;
  sndWnd: number;
  rcvWnd: number;
  sndWscale: number;
  rcvWscale: number;
  sackEnabled: boolean;
  timestampsEnabled: boolean;
  congestion: CongestionName;
  bytesSent: number;
  bytesReceived: number;
  bytesAcked: number;
}

export interface TcpConnection {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly state: TcpStateName;
  setHandler(handler: TcpConnectionHandler): void;
  /** Bytes that read() can return now. */
  readonly readableLength: number;
  /** True once the peer's FIN has arrived and every byte before it was read (read() -> 0 is EOF). */
  readonly eof: boolean;
  /** Copy up to dst.length received bytes into dst; returns the count (0 when nothing is buffered). */
  read(dst: Uint8Array): number;
  /** Free space in the send buffer. */
  readonly writableLength: number;
  /**
   * Queue bytes for sending; returns how many were accepted (what fits in the send buffer).
   * Throws nothing: after shutdown(WR)/close it returns -1 (EPIPE is the socket layer's to report).
   */
  write(src: Uint8Array): number;
  /** Half-close: 'wr' sends FIN after queued data, 'rd' discards further input, 'rdwr' both. */
  shutdown(how: 'rd' | 'wr' | 'rdwr'): void;
  /** Graceful close: queued data is sent, then FIN. Unread received data makes it a reset (RFC 9293 / Linux). */
  close(): void;
  /** Abortive close: send RST, drop everything (SO_LINGER {on, 0}). */
  abort(): void;
  setOptions(opts: TcpOptions): void;
  readonly options: Readonly<Required<TcpOptions>>;
  info(): TcpInfo;
  /** A pending error (set when error() was called), cleared by reading it. */
  takeError(): ErrnoName | undefined;
}

export interface TcpListenerHandler {
  /** A connection is waiting in the accept queue. */
  acceptable(): void;
}

export interface TcpListener {
  readonly localAddr: number;
  readonly localPort: number;
  setHandler(handler: TcpListenerHandler): void;
  /** Next established connection from the accept queue, or undefined. */
  accept(): TcpConnection | undefined;
  /** Connections waiting in the accept queue. */
  readonly pendingCount: number;
  /** Stop listening; connections not yet accepted are reset. */
  close(): void;
}

/** What the socket layer asks of the TCP layer. */
export interface TcpService {
  /**
   * Reserve a local address/port. port 0 picks an ephemeral port (32768..60999, never
   * colliding). EADDRINUSE when taken (unless reuseAddr and the holder is only TIME-WAIT / not listening).
   */
  bind(localAddr: number, localPort: number, reuseAddr: boolean): { port: number } | ErrnoName;
  /** Release a reservation made by bind() that never became a listener or connection. */
  unbind(localAddr: number, localPort: number): void;
  /** Listen on a bound port. */
  listen(localAddr: number, localPort: number, backlog: number, opts?: TcpOptions): TcpListener | ErrnoName;
  /** Active open from a bound (or, with port 0, newly bound) local port. Completion is reported through the handler. */
  connect(
    localAddr: number,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
    handler: TcpConnectionHandler,
    opts?: TcpOptions,
  ): TcpConnection | ErrnoName;
}
