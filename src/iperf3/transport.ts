/**
 * The little transport the iperf3 server runs on: listen on a port, get connections that
 * are byte streams with backpressure. Node's `net` (kernel sockets) and our stack's
 * `createNet()` (src/socket/stream.ts) both fit it through netLikeTransport(); tests use a
 * fake.
 */

/** A connected byte stream (net.Socket and our TcpSocket are both one). */
export interface Iperf3Conn {
  /** Queue bytes; false means "buffer full, wait for 'drain'" (the chunk is still queued). */
  write(chunk: Uint8Array): boolean;
  /** Half-close after queued data (FIN). */
  end(): void;
  /** Close now, dropping queued data. */
  destroy(): void;
  /** 'data' (chunk), 'drain', 'end', 'close', 'error' (Error), as on a Node stream. */
  on(event: string, listener: (...args: any[]) => void): unknown;
  setNoDelay?(noDelay?: boolean): unknown;
  /**
   * Read into a reused buffer instead of 'data' chunks (our stack's TcpSocket.setOnRead, Node's
   * `onread`): `callback` gets the byte count of every read. Optional: without it the server
   * counts 'data' events. Data that already came as 'data' is not repeated here.
   */
  setOnRead?(o: { buffer: Uint8Array; callback: (nread: number, buf: Uint8Array) => boolean | void }): unknown;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

export interface Iperf3Listener {
  readonly port: number;
  close(): void;
}

export interface Iperf3Transport {
  /** Start listening; resolves once bound, rejects with the bind error (EADDRINUSE...). */
  listen(port: number, host: string | undefined, onConnection: (conn: Iperf3Conn) => void): Promise<Iperf3Listener>;
}

/** What netLikeTransport needs of a server from `createServer()`. */
interface ServerLike {
  listen(port: number, host: string, cb: () => void): unknown;
  once(event: 'error', fn: (e: Error) => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  close(): unknown;
  address(): unknown;
}

/** Node's `net` module or our stack's Net (src/socket/stream.ts createNet()). */
export interface NetLike {
  createServer(connectionListener: (socket: any) => void): ServerLike;
}

/**
 * A transport over anything shaped like Node's `net`: `netLikeTransport(await import('node:net'))`
 * for kernel sockets, `netLikeTransport(createNet({ tcp: stack.tcp, clock: stack.clock, localAddr: stack.addr }))`
 * for our stack.
 */
export function netLikeTransport(net: NetLike): Iperf3Transport {
  return {
    listen(port, host, onConnection) {
      return new Promise((resolve, reject) => {
        const server = net.createServer((socket: Iperf3Conn) => onConnection(socket));
        server.once('error', reject);
        server.listen(port, host ?? '0.0.0.0', () => {
          server.on('error', () => {});
          const addr = server.address();
          const bound = typeof addr === 'object' && addr !== null && 'port' in addr ? Number((addr as { port: unknown }).port) : port;
          resolve({ port: bound, close: () => void server.close() });
        });
      });
    },
  };
}
