/**
 * The iperf3 wire protocol (esnet/iperf 3.x), server side: constants, the framing of the
 * control connection, and validation of the JSON the client sends.
 *
 * Control connection (client -> server first):
 *   1. the client sends a 37-byte cookie (36 random characters and a NUL, COOKIE_SIZE in
 *      iperf.h); every data stream it opens later starts with the same 37 bytes;
 *   2. the server drives the test by writing one signed byte per state (iperf_api.h
 *      "states": PARAM_EXCHANGE=9, CREATE_STREAMS=10, TEST_START=1, TEST_RUNNING=2,
 *      EXCHANGE_RESULTS=13, DISPLAY_RESULTS=14); the client writes TEST_END=4,
 *      IPERF_DONE=16 or CLIENT_TERMINATE=12 the same way;
 *   3. parameters and results travel as JSON behind a 4-byte big-endian length
 *      (iperf_api.c JSON_write / JSON_read: htonl(strlen(json)), then the text, no NUL);
 *   4. SERVER_ERROR (-2) is followed by two 4-byte big-endian integers, the iperf error
 *      number (i_errno) and the system errno (iperf_exchange_parameters).
 *
 * The control path is not hot (a handful of messages per test), so messages are copied
 * out of the receive queue; the data path never goes through here.
 */

/** iperf.h COOKIE_SIZE: 36 characters plus the terminating NUL. */
export const COOKIE_SIZE = 37;
/** Bytes of the JSON length prefix (uint32, network order). */
export const JSON_LEN_SIZE = 4;
/**
 * Largest JSON message we accept. iperf 3.12 caps parameters at 8 KiB
 * (MAX_PARAMS_JSON_STRING); results can carry the client's text output, so be generous
 * but bounded: a hostile length must not make us allocate gigabytes.
 */
export const MAX_JSON_LEN = 1024 * 1024;
/** iperf_api.h DEFAULT_TCP_BLKSIZE: 128 KiB writes unless the client asks for -l. */
export const DEFAULT_TCP_BLKSIZE = 128 * 1024;
/** iperf.h MAX_BLOCKSIZE (1 MiB) and MAX_STREAMS (128); MAX_TIME is 86400 s. */
export const MAX_BLOCKSIZE = 1024 * 1024;
export const MAX_STREAMS = 128;
export const MAX_TIME = 86400;
/** The default iperf3 port (iperf.h PORT). */
export const DEFAULT_PORT = 5201;

/** Test states, iperf_api.h. Values travel as one signed byte. */
export const State = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;
export type StateValue = (typeof State)[keyof typeof State];

/** iperf_api.h error numbers (i_errno) we report to the client after SERVER_ERROR. */
export const IperfErrno = {
  /** IEUNIMP: "not implemented yet" (UDP, SCTP, ...). */
  UNIMP: 13,
  /** IERECVPARAMS: "unable to receive parameters from client". */
  RECVPARAMS: 114,
  /** IENUMSTREAMS: "number of parallel streams too large". */
  NUMSTREAMS: 6,
  /** IEBLOCKSIZE: "block size too large". */
  BLOCKSIZE: 7,
} as const;

/** One state byte as it goes on the wire (two's complement for the negative ones). */
export function stateByte(s: StateValue): Uint8Array {
  return Uint8Array.of(s & 0xff);
}

/** Read a state byte back as iperf's `signed char`. */
export function toSignedState(b: number): number {
  return b > 127 ? b - 256 : b;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** JSON_write: 4-byte big-endian length, then the unformatted JSON text. */
export function encodeJsonMessage(value: unknown): Uint8Array {
  const body = textEncoder.encode(JSON.stringify(value));
  const out = new Uint8Array(JSON_LEN_SIZE + body.length);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, body.length, false);
  out.set(body, JSON_LEN_SIZE);
  return out;
}

/** SERVER_ERROR, then htonl(i_errno), then htonl(errno), as iperf_exchange_parameters sends it. */
export function encodeServerError(iperfErrno: number, sysErrno = 0): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = State.SERVER_ERROR & 0xff;
  const dv = new DataView(out.buffer);
  dv.setInt32(1, iperfErrno, false);
  dv.setInt32(5, sysErrno, false);
  return out;
}

/**
 * A FIFO of received bytes from which the control parser takes whole messages. Chunks are
 * kept as they arrived (views, not copies) until a message is taken.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private headOff = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Byte at offset i from the front (i < length). */
  peekByte(i: number): number {
    let off = this.headOff + i;
    for (const c of this.chunks) {
      if (off < c.length) return c[off]!;
      off -= c.length;
    }
    throw new RangeError(`peekByte(${i}) past ${this.total} queued bytes`);
  }

  /** Remove and return the first n bytes (n <= length) as one contiguous copy. */
  take(n: number): Uint8Array {
    if (n > this.total) throw new RangeError(`take(${n}) with ${this.total} queued bytes`);
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const avail = c.length - this.headOff;
      const k = Math.min(avail, n - got);
      out.set(c.subarray(this.headOff, this.headOff + k), got);
      got += k;
      this.headOff += k;
      if (this.headOff === c.length) {
        this.chunks.shift();
        this.headOff = 0;
      }
    }
    this.total -= n;
    return out;
  }

  /** Remove everything and return it (the data that followed a cookie on a stream). */
  takeAll(): Uint8Array {
    return this.take(this.total);
  }
}

export type JsonResult = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

/**
 * Try to take one length-prefixed JSON object from the queue. Undefined while incomplete;
 * an error (the connection should be dropped) for an oversized length, bad UTF-8, bad JSON
 * or a JSON value that is not an object.
 */
export function takeJsonMessage(q: ByteQueue): JsonResult | undefined {
  if (q.length < JSON_LEN_SIZE) return undefined;
  const len = ((q.peekByte(0) << 24) | (q.peekByte(1) << 16) | (q.peekByte(2) << 8) | q.peekByte(3)) >>> 0;
  if (len > MAX_JSON_LEN) return { ok: false, error: `JSON message of ${len} bytes exceeds the ${MAX_JSON_LEN}-byte limit` };
  if (q.length < JSON_LEN_SIZE + len) return undefined;
  q.take(JSON_LEN_SIZE);
  const body = q.take(len);
  let value: unknown;
  try {
    value = JSON.parse(textDecoder.decode(body));
  } catch (e) {
    return { ok: false, error: `bad JSON (${(e as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'JSON message is not an object' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** What the server needs from the client's parameters (iperf_api.c get_parameters). */
export interface TestParams {
  protocol: 'tcp' | 'udp' | 'sctp';
  /** -t seconds (0 when the test ends by -n / -k). */
  duration: number;
  /** -O seconds omitted from the start of the results. */
  omit: number;
  /** -P streams. */
  parallel: number;
  /** -R: the server sends. */
  reverse: boolean;
  /** --bidir: both directions, `parallel` streams each. */
  bidirectional: boolean;
  /** -l block size of each write. */
  blksize: number;
  /** -n bytes / -k blocks (0 = unset). */
  bytes: number;
  blocks: number;
  /** --get-server-output: the client wants our text report in the results. */
  getServerOutput: boolean;
  /** -N: TCP_NODELAY on the data streams. */
  noDelay: boolean;
  /** -b bits/s (0 = unlimited). Only honoured by UDP in iperf's TCP path when set; we do not pace. */
  rate: number;
  clientVersion: string | undefined;
}

export type ParamsResult = { ok: true; params: TestParams } | { ok: false; iperfErrno: number; error: string };

function intField(j: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number | string {
  const v = j[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) return `"${key}" is not a number`;
  const n = Math.trunc(v);
  if (n < min || n > max) return `"${key}"=${n} outside ${min}..${max}`;
  return n;
}

/**
 * Validate the client's parameters once. Presence flags ("tcp", "reverse", ...) count when
 * the key exists, as cJSON_GetObjectItem does in get_parameters.
 */
export function parseParams(j: Record<string, unknown>): ParamsResult {
  const protocol = 'udp' in j ? 'udp' : 'sctp' in j ? 'sctp' : 'tcp';
  const duration = intField(j, 'time', 10, 0, MAX_TIME);
  const omit = intField(j, 'omit', 0, 0, 600);
  const parallel = intField(j, 'parallel', 1, 1, MAX_STREAMS);
  const blksize = intField(j, 'len', DEFAULT_TCP_BLKSIZE, 1, MAX_BLOCKSIZE);
  const bytes = intField(j, 'num', 0, 0, Number.MAX_SAFE_INTEGER);
  const blocks = intField(j, 'blockcount', 0, 0, Number.MAX_SAFE_INTEGER);
  const rate = intField(j, 'bandwidth', 0, 0, Number.MAX_SAFE_INTEGER);
  for (const v of [duration, omit, bytes, blocks, rate]) if (typeof v === 'string') return { ok: false, iperfErrno: IperfErrno.RECVPARAMS, error: v };
  if (typeof parallel === 'string') return { ok: false, iperfErrno: IperfErrno.NUMSTREAMS, error: parallel };
  if (typeof blksize === 'string') return { ok: false, iperfErrno: IperfErrno.BLOCKSIZE, error: blksize };
  const cv = j['client_version'];
  return {
    ok: true,
    params: {
      protocol,
      duration: duration as number,
      omit: omit as number,
      parallel,
      reverse: 'reverse' in j,
      bidirectional: 'bidirectional' in j,
      blksize,
      bytes: bytes as number,
      blocks: blocks as number,
      getServerOutput: 'get_server_output' in j,
      noDelay: 'nodelay' in j,
      rate: rate as number,
      clientVersion: typeof cv === 'string' ? cv : undefined,
    },
  };
}

/** One stream's line in the results exchange (iperf_api.c send_results). */
export interface StreamResult {
  id: number;
  bytes: number;
  retransmits: number;
  jitter: number;
  errors: number;
  packets: number;
  start_time: number;
  end_time: number;
}

/** The results object send_results() writes and get_results() requires. */
export interface ResultsMessage {
  cpu_util_total: number;
  cpu_util_user: number;
  cpu_util_system: number;
  sender_has_retransmits: number;
  streams: StreamResult[];
  server_output_text?: string;
}

/**
 * Stream ids as iperf_add_stream() assigns them, in accept order: the first stream is 1,
 * the k-th (k >= 2) is k + 1 (ids 1, 3, 4, 5 ...). Client and server number their streams
 * independently and match results by id, so we must count exactly the same way.
 */
export function streamId(index: number): number {
  return index === 0 ? 1 : index + 2;
}

/** The client's results, validated just enough to trust the fields we print. */
export interface ClientResults {
  cpuUtilTotal: number;
  streams: Array<{ id: number; bytes: number }>;
}

export function parseClientResults(j: Record<string, unknown>): ClientResults | string {
  for (const k of ['cpu_util_total', 'cpu_util_user', 'cpu_util_system', 'sender_has_retransmits']) {
    if (typeof j[k] !== 'number') return `results lack numeric "${k}"`;
  }
  const streams = j['streams'];
  if (!Array.isArray(streams)) return 'results lack a "streams" array';
  const out: ClientResults = { cpuUtilTotal: j['cpu_util_total'] as number, streams: [] };
  for (const s of streams as unknown[]) {
    if (typeof s !== 'object' || s === null) return 'a results stream is not an object';
    const r = s as Record<string, unknown>;
    if (typeof r['id'] !== 'number' || typeof r['bytes'] !== 'number') return 'a results stream lacks numeric "id"/"bytes"';
    out.streams.push({ id: r['id'], bytes: r['bytes'] });
  }
  return out;
}
