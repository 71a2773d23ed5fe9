/**
 * An iperf3 server (TCP tests) that the unmodified `iperf3 -c` client accepts: normal mode
 * (client sends, we count), reverse `-R` (we send as fast as the transport takes it),
 * `--bidir`, `-P n` parallel streams, `-t` / `-n` / `-k`, `-O` omit, `--get-server-output`.
 *
 * The flow follows iperf_server_api.c (iperf_accept, iperf_handle_message_server,
 * iperf_run_server):
 *   accept control -> read cookie -> PARAM_EXCHANGE -> read params JSON -> CREATE_STREAMS
 *   -> accept `parallel` (x2 for --bidir) data connections, each starting with the cookie
 *   -> TEST_START, TEST_RUNNING -> ... client sends TEST_END -> EXCHANGE_RESULTS
 *   -> read client results JSON -> write our results JSON -> DISPLAY_RESULTS
 *   -> client sends IPERF_DONE -> close.
 * One test at a time: a control connection arriving while a test runs gets ACCESS_DENIED,
 * as does a data connection whose cookie is not the running test's.
 *
 * Time comes from the injected Clock (durations, the watchdog); the sender yields to the
 * event loop through the injected `defer` so a transport that never pushes back cannot
 * starve the control connection.
 */
import type { Clock, Timer } from '../core/clock.js';
import {
  ByteQueue,
  COOKIE_SIZE,
  encodeJsonMessage,
  encodeServerError,
  IperfErrno,
  parseClientResults,
  parseParams,
  State,
  stateByte,
  streamId,
  takeJsonMessage,
  toSignedState,
  type ResultsMessage,
  type StreamResult,
  type TestParams,
} from './protocol.js';
import type { Iperf3Conn, Iperf3Listener, Iperf3Transport } from './transport.js';

/** Cumulative process CPU time in microseconds (process.cpuUsage()). */
export type CpuUsage = () => { user: number; system: number };

export interface Iperf3ServerOptions {
  transport: Iperf3Transport;
  clock: Clock;
  /** Run `fn` soon, after pending I/O (setImmediate in a real process). Default: a clock timer due now. */
  defer?: (fn: () => void) => void;
  cpuUsage?: CpuUsage;
  /** One line per event (connections, results, errors). */
  log?: (line: string) => void;
  /** Called when a test ends, completed or not. */
  onTestDone?: (report: TestReport) => void;
  /** How long a new connection may take to send its cookie, and a test to get its streams (ms). Default 10 s. */
  setupTimeoutMs?: number;
}

export interface StreamReport {
  id: number;
  role: 'send' | 'recv';
  bytes: number;
}

export interface TestReport {
  ok: boolean;
  /** Why it ended early (client terminated, control closed, watchdog...). */
  error?: string;
  remote: string;
  params: TestParams | undefined;
  /** Seconds from TEST_START (or the end of omit) to TEST_END. */
  seconds: number;
  streams: StreamReport[];
  sentBytes: number;
  receivedBytes: number;
}

type Phase = 'params' | 'streams' | 'running' | 'results' | 'display' | 'done';

interface Stream {
  conn: Iperf3Conn;
  id: number;
  role: 'send' | 'recv';
  bytes: number;
  counting: boolean;
  sending: boolean;
}

/** Writes per pump() before yielding, and the byte budget of one burst. */
const BURST_WRITES = 64;
const BURST_BYTES = 8 * 1024 * 1024;
/** iperf's server watchdog: duration + omit + 5 s (create_server_timers). */
const WATCHDOG_SLACK_MS = 5000;

function peerName(c: Iperf3Conn): string {
  return `${c.remoteAddress ?? '?'}:${c.remotePort ?? '?'}`;
}

/** One test, from the control connection's cookie to IPERF_DONE. */
class Test {
  readonly ctrl: Iperf3Conn;
  readonly cookie: Uint8Array;
  phase: Phase = 'params';
  params: TestParams | undefined = undefined;
  readonly streams: Stream[] = [];
  private readonly rx = new ByteQueue();
  private readonly srv: Iperf3Server;
  private readonly timer: Timer;
  private readonly omitTimer: Timer;
  private started = false;
  private stopped = false;
  private startMs = 0;
  private endMs = 0;
  private cpuStart = { user: 0, system: 0 };
  private cpuEnd = { user: 0, system: 0 };
  private block: Uint8Array = new Uint8Array(0);
  private finished = false;

  constructor(srv: Iperf3Server, ctrl: Iperf3Conn, cookie: Uint8Array, rest: Uint8Array) {
    this.srv = srv;
    this.ctrl = ctrl;
    this.cookie = cookie;
    this.timer = srv.clock.createTimer(() => this.abort('watchdog: the test overran its duration (or its setup stalled)'));
    this.omitTimer = srv.clock.createTimer(() => this.endOmit());
    this.timer.arm(srv.clock.now() + srv.setupTimeoutMs);
    ctrl.on('data', (d: Uint8Array) => {
      this.rx.push(d);
      this.onControl();
    });
    ctrl.on('error', (e: Error) => this.abort(`control connection error: ${e.message}`));
    ctrl.on('close', () => this.abort('the client closed the control connection'));
    // iperf_accept: set PARAM_EXCHANGE, then read the parameters.
    this.send(stateByte(State.PARAM_EXCHANGE));
    this.rx.push(rest);
    this.onControl();
  }

  private send(b: Uint8Array): void {
    if (!this.finished) this.ctrl.write(b);
  }

  private onControl(): void {
    while (!this.finished) {
      if (this.phase === 'params' || this.phase === 'results') {
        const m = takeJsonMessage(this.rx);
        if (m === undefined) return;
        if (!m.ok) return this.abort(`bad ${this.phase} message: ${m.error}`);
        if (this.phase === 'params') this.onParams(m.value);
        else this.onClientResults(m.value);
        continue;
      }
      if (this.rx.length === 0) return;
      const state = toSignedState(this.rx.take(1)[0]!);
      this.onState(state);
    }
  }

  private onParams(j: Record<string, unknown>): void {
    const r = parseParams(j);
    if (!r.ok) return this.serverError(r.iperfErrno, r.error);
    const p = r.params;
    if (p.protocol !== 'tcp') return this.serverError(IperfErrno.UNIMP, `${p.protocol.toUpperCase()} tests are not supported by this server`);
    this.params = p;
    this.block = new Uint8Array(p.blksize);
    // Something recognisable on the wire rather than zeros.
    for (let i = 0; i < this.block.length; i++) this.block[i] = 0x30 + (i % 10);
    this.srv.log(
      `test from ${peerName(this.ctrl)}: ${p.parallel} stream(s), ${p.bidirectional ? 'bidirectional' : p.reverse ? 'reverse (we send)' : 'normal (we receive)'}, ` +
        `${p.duration > 0 ? `${p.duration} s` : p.bytes > 0 ? `${p.bytes} bytes` : `${p.blocks} blocks`}, ${p.blksize}-byte blocks` +
        (p.clientVersion !== undefined ? `, client ${p.clientVersion}` : ''),
    );
    this.phase = 'streams';
    this.send(stateByte(State.CREATE_STREAMS));
  }

  private serverError(iperfErrno: number, why: string): void {
    this.send(encodeServerError(iperfErrno));
    this.abort(why);
  }

  get streamsWanted(): number {
    const p = this.params;
    return p === undefined ? 0 : p.bidirectional ? 2 * p.parallel : p.parallel;
  }

  /** A data connection with the right cookie. `rest` is whatever followed the cookie. */
  addStream(conn: Iperf3Conn, rest: Uint8Array): void {
    const p = this.params!;
    const index = this.streams.length;
    // iperf_run_server: receiving streams are accepted first, then sending ones.
    const recvWanted = p.bidirectional || !p.reverse ? p.parallel : 0;
    const role: 'send' | 'recv' = index < recvWanted ? 'recv' : 'send';
    const s: Stream = { conn, id: streamId(index), role, bytes: rest.length, counting: true, sending: false };
    this.streams.push(s);
    if (p.noDelay) conn.setNoDelay?.(true);
    conn.on('data', (d: Uint8Array) => {
      if (s.counting) s.bytes += d.length;
    });
    // The test data is only counted: where the transport can, read it into one reused
    // buffer (iperf3 itself read()s into one) instead of a new Buffer per chunk.
    if (role === 'recv') {
      conn.setOnRead?.({
        buffer: this.srv.sink,
        callback: (n) => {
          if (s.counting) s.bytes += n;
        },
      });
    }
    conn.on('drain', () => this.pump(s));
    conn.on('error', (e: Error) => {
      if (this.phase === 'running') this.abort(`stream ${s.id} error: ${e.message}`);
    });
    if (this.streams.length === this.streamsWanted) this.start();
  }

  private start(): void {
    const p = this.params!;
    const clock = this.srv.clock;
    this.send(stateByte(State.TEST_START));
    this.startMs = clock.now();
    this.started = true;
    this.cpuStart = this.srv.cpuUsage();
    if (p.duration > 0) this.timer.arm(this.startMs + (p.duration + p.omit) * 1000 + WATCHDOG_SLACK_MS);
    else this.timer.cancel();
    if (p.omit > 0) this.omitTimer.arm(this.startMs + p.omit * 1000);
    this.phase = 'running';
    this.send(stateByte(State.TEST_RUNNING));
    for (const s of this.streams) {
      if (s.role === 'send') {
        s.sending = true;
        this.pump(s);
      }
    }
  }

  /** iperf_reset_stats at the end of -O: counting (and the clock) start over. */
  private endOmit(): void {
    if (this.phase !== 'running') return;
    this.startMs = this.srv.clock.now();
    this.cpuStart = this.srv.cpuUsage();
    for (const s of this.streams) s.bytes = 0;
  }

  /** Write the preallocated block until the transport pushes back, then wait for 'drain'. */
  private pump(s: Stream): void {
    if (!s.sending) return;
    const block = this.block;
    let writes = 0;
    let bytes = 0;
    while (s.sending) {
      s.bytes += block.length;
      const more = s.conn.write(block);
      if (!more) return;
      if (++writes >= BURST_WRITES || (bytes += block.length) >= BURST_BYTES) {
        this.srv.defer(() => this.pump(s));
        return;
      }
    }
  }

  private onState(state: number): void {
    switch (state) {
      case State.TEST_START:
        return;
      case State.TEST_END:
        if (this.phase !== 'running') return this.abort(`TEST_END in phase ${this.phase}`);
        this.stopStreams();
        this.phase = 'results';
        this.send(stateByte(State.EXCHANGE_RESULTS));
        return;
      case State.IPERF_DONE:
        return this.finish(this.phase === 'display' ? undefined : `IPERF_DONE in phase ${this.phase}`);
      case State.CLIENT_TERMINATE:
        return this.abort('the client terminated the test');
      default:
        return this.abort(`unexpected state byte ${state} in phase ${this.phase}`);
    }
  }

  private stopStreams(): void {
    this.endMs = this.srv.clock.now();
    this.stopped = true;
    this.cpuEnd = this.srv.cpuUsage();
    this.timer.cancel();
    this.omitTimer.cancel();
    for (const s of this.streams) {
      s.sending = false;
      s.counting = false;
      s.conn.end();
    }
  }

  private onClientResults(j: Record<string, unknown>): void {
    const r = parseClientResults(j);
    if (typeof r === 'string') return this.abort(`bad client results: ${r}`);
    this.send(encodeJsonMessage(this.results()));
    this.phase = 'display';
    this.send(stateByte(State.DISPLAY_RESULTS));
  }

  /** Seconds measured: TEST_START (or the end of -O) to TEST_END, or to now while running. */
  get seconds(): number {
    if (!this.started) return 0;
    const end = this.stopped ? this.endMs : this.srv.clock.now();
    return Math.max(0, end - this.startMs) / 1000;
  }

  /** send_results(): our side of every stream. */
  results(): ResultsMessage {
    const p = this.params!;
    const seconds = this.seconds;
    const wallUs = seconds * 1e6;
    const user = this.cpuEnd.user - this.cpuStart.user;
    const system = this.cpuEnd.system - this.cpuStart.system;
    const pct = (us: number): number => (wallUs > 0 ? (100 * us) / wallUs : 0);
    const streams: StreamResult[] = this.streams.map((s) => ({
      id: s.id,
      bytes: s.bytes,
      // We cannot read TCP_INFO through the transport: no retransmit count (-1), as iperf does without it.
      retransmits: -1,
      jitter: 0,
      errors: 0,
      packets: 0,
      start_time: 0,
      end_time: seconds,
    }));
    const msg: ResultsMessage = {
      cpu_util_total: pct(user + system),
      cpu_util_user: pct(user),
      cpu_util_system: pct(system),
      // send_results: -1 when we only received; 0 = "the sender has no retransmit count".
      sender_has_retransmits: !p.reverse && !p.bidirectional ? -1 : 0,
      streams,
    };
    if (p.getServerOutput) msg.server_output_text = this.textReport();
    return msg;
  }

  private textReport(): string {
    const lines = [`Accepted connection from ${peerName(this.ctrl)}`, '[ ID] Interval           Transfer     Bitrate'];
    const secs = this.seconds;
    for (const s of this.streams) {
      const bps = secs > 0 ? (s.bytes * 8) / secs : 0;
      lines.push(
        `[${String(s.id).padStart(3)}]   0.00-${secs.toFixed(2).padStart(5)}  sec  ${(s.bytes / 2 ** 20).toFixed(1).padStart(7)} MBytes  ${(bps / 1e6).toFixed(1).padStart(7)} Mbits/sec  ${s.role === 'send' ? 'sender' : 'receiver'}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }

  report(error: string | undefined): TestReport {
    let sent = 0;
    let received = 0;
    for (const s of this.streams) {
      if (s.role === 'send') sent += s.bytes;
      else received += s.bytes;
    }
    return {
      ok: error === undefined,
      ...(error !== undefined ? { error } : {}),
      remote: peerName(this.ctrl),
      params: this.params,
      seconds: this.seconds,
      streams: this.streams.map((s) => ({ id: s.id, role: s.role, bytes: s.bytes })),
      sentBytes: sent,
      receivedBytes: received,
    };
  }

  abort(why: string): void {
    if (this.finished) return;
    if (this.phase === 'running') this.stopStreams();
    this.finish(why);
  }

  private finish(error: string | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.phase = 'done';
    this.timer.cancel();
    this.omitTimer.cancel();
    for (const s of this.streams) {
      s.sending = false;
      s.conn.destroy();
    }
    this.ctrl.end();
    this.srv.testDone(this, this.report(error));
  }
}

/** Bytes a connection sent before we know what it is (control or data stream). */
interface Pending {
  conn: Iperf3Conn;
  rx: ByteQueue;
  timer: Timer;
  done: boolean;
}

/** Received test data is read into one buffer of iperf3's default TCP block size (128 KiB). */
const RECV_SINK_BYTES = 128 * 1024;

export class Iperf3Server {
  /** @internal Where streams read test data into and drop it (see Test.addStream). */
  readonly sink = new Uint8Array(RECV_SINK_BYTES);
  readonly clock: Clock;
  readonly setupTimeoutMs: number;
  readonly defer: (fn: () => void) => void;
  readonly cpuUsage: CpuUsage;
  private readonly transport: Iperf3Transport;
  private readonly logFn: (line: string) => void;
  private readonly onTestDone: ((r: TestReport) => void) | undefined;
  private listener: Iperf3Listener | undefined = undefined;
  private test: Test | undefined = undefined;
  /** Tests completed or aborted since start. */
  testsRun = 0;

  constructor(opts: Iperf3ServerOptions) {
    this.transport = opts.transport;
    this.clock = opts.clock;
    this.setupTimeoutMs = opts.setupTimeoutMs ?? 10_000;
    this.cpuUsage = opts.cpuUsage ?? (() => ({ user: 0, system: 0 }));
    this.logFn = opts.log ?? (() => {});
    this.onTestDone = opts.onTestDone;
    if (opts.defer !== undefined) this.defer = opts.defer;
    else {
      const clock = opts.clock;
      this.defer = (fn) => clock.createTimer(fn).arm(clock.now());
    }
  }

  /** Listen (port 0 = any); resolves with the bound port. */
  async listen(port: number, host?: string): Promise<number> {
    this.listener = await this.transport.listen(port, host, (c) => this.handleConnection(c));
    return this.listener.port;
  }

  close(): void {
    this.listener?.close();
    this.listener = undefined;
    this.test?.abort('server shutting down');
  }

  get busy(): boolean {
    return this.test !== undefined;
  }

  log(line: string): void {
    this.logFn(line);
  }

  /** Every accepted connection comes here (public so a fake transport can drive it). */
  handleConnection(conn: Iperf3Conn): void {
    conn.on('error', () => {}); // errors are handled by whoever owns the connection next
    const t = this.test;
    if (t !== undefined && t.phase !== 'streams') {
      // iperf_accept: busy -> ACCESS_DENIED without reading anything.
      this.deny(conn, 'a test is already running');
      return;
    }
    const p: Pending = { conn, rx: new ByteQueue(), timer: this.clock.createTimer(() => this.pendingTimeout(p)), done: false };
    p.timer.arm(this.clock.now() + this.setupTimeoutMs);
    conn.on('data', (d: Uint8Array) => {
      if (p.done) return;
      p.rx.push(d);
      if (p.rx.length >= COOKIE_SIZE) this.onCookie(p);
    });
    conn.on('close', () => {
      p.done = true;
      p.timer.cancel();
    });
  }

  private pendingTimeout(p: Pending): void {
    if (p.done) return;
    p.done = true;
    this.log(`${peerName(p.conn)}: no cookie within ${this.setupTimeoutMs} ms, closing`);
    p.conn.destroy();
  }

  private onCookie(p: Pending): void {
    p.done = true;
    p.timer.cancel();
    const cookie = p.rx.take(COOKIE_SIZE);
    const rest = p.rx.takeAll();
    const t = this.test;
    if (t === undefined) {
      this.test = new Test(this, p.conn, cookie, rest);
      return;
    }
    // iperf_tcp_accept: a stream whose cookie is not the test's gets ACCESS_DENIED.
    if (t.phase !== 'streams' || !sameBytes(cookie, t.cookie) || t.streams.length >= t.streamsWanted) {
      this.deny(p.conn, t.phase === 'streams' ? 'cookie does not match the running test' : 'a test is already running');
      return;
    }
    t.addStream(p.conn, rest);
  }

  private deny(conn: Iperf3Conn, why: string): void {
    this.log(`${peerName(conn)}: access denied (${why})`);
    conn.write(stateByte(State.ACCESS_DENIED));
    conn.end();
  }

  /** @internal Called by a Test when it ends. */
  testDone(t: Test, report: TestReport): void {
    if (this.test === t) this.test = undefined;
    this.testsRun++;
    if (report.ok) {
      const bps = report.seconds > 0 ? ((report.sentBytes + report.receivedBytes) * 8) / report.seconds : 0;
      this.log(
        `test from ${report.remote} done: ${report.seconds.toFixed(2)} s, received ${report.receivedBytes} B, sent ${report.sentBytes} B, ${(bps / 1e9).toFixed(3)} Gbit/s`,
      );
    } else this.log(`test from ${report.remote} ended: ${report.error}`);
    this.onTestDone?.(report);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
