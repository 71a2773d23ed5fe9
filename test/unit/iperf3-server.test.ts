/**
 * The iperf3 server state machine over a fake transport on a ManualClock: the test plays
 * the iperf3 client byte by byte and checks what the server writes back.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { COOKIE_SIZE, encodeJsonMessage, State, takeJsonMessage, ByteQueue } from '../../src/iperf3/protocol.js';
import { Iperf3Server, type TestReport } from '../../src/iperf3/server.js';
import type { Iperf3Conn, Iperf3Transport } from '../../src/iperf3/transport.js';

class FakeConn extends EventEmitter implements Iperf3Conn {
  readonly written: Uint8Array[] = [];
  ended = false;
  destroyed = false;
  noDelay = false;
  /** write() returns false once this many writes are queued since the last drain (Infinity: never). */
  highWater = Infinity;
  private sinceDrain = 0;
  readonly remoteAddress = '10.77.0.1';
  readonly remotePort: number;
  constructor(port: number) {
    super();
    this.remotePort = port;
  }
  write(chunk: Uint8Array): boolean {
    this.written.push(chunk);
    return ++this.sinceDrain < this.highWater;
  }
  drain(): void {
    this.sinceDrain = 0;
    this.emit('drain');
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  setNoDelay(on = true): void {
    this.noDelay = on;
  }
  /** Everything written so far, concatenated. */
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.written));
  }
  send(b: Uint8Array | number[]): void {
    this.emit('data', b instanceof Uint8Array ? b : Uint8Array.from(b));
  }
}

function cookie(ch: string): Uint8Array {
  const c = new Uint8Array(COOKIE_SIZE);
  c.fill(ch.charCodeAt(0), 0, COOKIE_SIZE - 1);
  return c;
}

function setup(opts: { cpu?: () => { user: number; system: number } } = {}) {
  const clock = new ManualClock(1000);
  const deferred: Array<() => void> = [];
  const reports: TestReport[] = [];
  let onConn: ((c: Iperf3Conn) => void) | undefined;
  const transport: Iperf3Transport = {
    listen: async (port, _host, cb) => {
      onConn = cb;
      return { port: port === 0 ? 5201 : port, close: () => {} };
    },
  };
  const server = new Iperf3Server({
    transport,
    clock,
    defer: (fn) => deferred.push(fn),
    onTestDone: (r) => reports.push(r),
    ...(opts.cpu !== undefined ? { cpuUsage: opts.cpu } : {}),
  });
  let port = 40000;
  const connect = (): FakeConn => {
    const c = new FakeConn(port++);
    onConn!(c);
    return c;
  };
  return { clock, deferred, reports, server, connect };
}

/** The control connection up to CREATE_STREAMS. */
function startTest(env: ReturnType<typeof setup>, params: Record<string, unknown>, ck = cookie('a')): FakeConn {
  const ctrl = env.connect();
  ctrl.send(ck.subarray(0, 10));
  expect(ctrl.written).toHaveLength(0);
  ctrl.send(ck.subarray(10));
  expect([...ctrl.bytes()]).toEqual([State.PARAM_EXCHANGE]);
  const msg = encodeJsonMessage({ tcp: true, omit: 0, time: 2, parallel: 1, len: 1000, client_version: '3.12', ...params });
  ctrl.send(msg.subarray(0, 3));
  ctrl.send(msg.subarray(3));
  expect([...ctrl.bytes()]).toEqual([State.PARAM_EXCHANGE, State.CREATE_STREAMS]);
  return ctrl;
}

/** Parse what the server wrote after `skip` bytes: state bytes and at most one JSON message. */
function parseOutput(bytes: Uint8Array, skip: number): { states: number[]; json: Record<string, unknown> | undefined } {
  const q = new ByteQueue();
  q.push(bytes.subarray(skip));
  const states: number[] = [];
  let json: Record<string, unknown> | undefined;
  while (q.length > 0) {
    if (q.length > 4 && q.peekByte(0) === 0) {
      const m = takeJsonMessage(q);
      if (m?.ok === true) json = m.value;
      continue;
    }
    states.push(q.take(1)[0]!);
  }
  return { states, json };
}

const CLIENT_RESULTS = { cpu_util_total: 1, cpu_util_user: 1, cpu_util_system: 0, sender_has_retransmits: 1, streams: [{ id: 1, bytes: 5, retransmits: 0, jitter: 0, errors: 0, packets: 0 }] };

describe('Iperf3Server', () => {
  it('runs a normal-mode test: counts the bytes after the cookie and reports them', async () => {
    let cpu = 0;
    const env = setup({ cpu: () => ({ user: cpu, system: cpu / 2 }) });
    await env.server.listen(0);
    const ctrl = startTest(env, {});
    const stream = env.connect();
    stream.send([...cookie('a'), 1, 2, 3]);
    expect([...ctrl.bytes()]).toEqual([State.PARAM_EXCHANGE, State.CREATE_STREAMS, State.TEST_START, State.TEST_RUNNING]);
    stream.send(new Uint8Array(1000));
    env.clock.advance(2000);
    cpu = 1_000_000; // 1 s user + 0.5 s system over 2 s of wall time
    stream.send(new Uint8Array(500));
    ctrl.send([State.TEST_END]);
    stream.send(new Uint8Array(77)); // in flight after TEST_END: not counted
    expect(stream.ended).toBe(true);
    const mark = ctrl.bytes().length;
    expect(ctrl.bytes()[mark - 1]).toBe(State.EXCHANGE_RESULTS);
    ctrl.send(encodeJsonMessage(CLIENT_RESULTS));
    const out = parseOutput(ctrl.bytes(), mark);
    expect(out.states).toEqual([State.DISPLAY_RESULTS]);
    expect(out.json).toEqual({
      cpu_util_total: 75,
      cpu_util_user: 50,
      cpu_util_system: 25,
      sender_has_retransmits: -1,
      streams: [{ id: 1, bytes: 1503, retransmits: -1, jitter: 0, errors: 0, packets: 0, start_time: 0, end_time: 2 }],
    });
    expect(env.reports).toHaveLength(0);
    ctrl.send([State.IPERF_DONE]);
    expect(env.reports).toHaveLength(1);
    expect(env.reports[0]).toMatchObject({ ok: true, seconds: 2, receivedBytes: 1503, sentBytes: 0 });
    expect(ctrl.ended).toBe(true);
    expect(stream.destroyed).toBe(true);
    expect(env.server.busy).toBe(false);
  });

  it('reverse mode writes one preallocated block until backpressure, then waits for drain', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = startTest(env, { reverse: true, len: 4096, nodelay: true });
    const stream = env.connect();
    stream.highWater = 3;
    stream.send(cookie('a'));
    expect(stream.noDelay).toBe(true);
    expect(stream.written).toHaveLength(3);
    const block = stream.written[0]!;
    expect(block.length).toBe(4096);
    expect(stream.written.every((b) => b === block)).toBe(true);
    stream.drain();
    expect(stream.written).toHaveLength(6);
    expect(stream.written.every((b) => b === block)).toBe(true);
    env.clock.advance(1000);
    ctrl.send([State.TEST_END]);
    stream.drain();
    expect(stream.written).toHaveLength(6);
    const mark = ctrl.bytes().length;
    ctrl.send(encodeJsonMessage(CLIENT_RESULTS));
    const out = parseOutput(ctrl.bytes(), mark);
    expect(out.json).toMatchObject({ sender_has_retransmits: 0, streams: [{ id: 1, bytes: 6 * 4096, end_time: 1 }] });
  });

  it('yields to the event loop when the transport never pushes back', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = startTest(env, { reverse: true, len: 1000 });
    const stream = env.connect();
    stream.send(cookie('a'));
    const first = stream.written.length;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(64);
    expect(env.deferred).toHaveLength(1);
    env.deferred.shift()!();
    expect(stream.written.length).toBe(2 * first);
    ctrl.send([State.TEST_END]);
    env.deferred.shift()!();
    expect(stream.written.length).toBe(2 * first);
  });

  it('numbers -P streams 1, 3, 4 and gives --bidir receivers first, then senders', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = startTest(env, { parallel: 2, bidirectional: true });
    const streams = [env.connect(), env.connect(), env.connect(), env.connect()];
    for (const s of streams) {
      s.highWater = 1;
      s.send(cookie('a'));
    }
    expect(streams.map((s) => s.written.length)).toEqual([0, 0, 1, 1]);
    streams[0]!.send(new Uint8Array(10));
    streams[1]!.send(new Uint8Array(20));
    ctrl.send([State.TEST_END]);
    const mark = ctrl.bytes().length;
    ctrl.send(encodeJsonMessage(CLIENT_RESULTS));
    const json = parseOutput(ctrl.bytes(), mark).json as { streams: Array<{ id: number; bytes: number }>; sender_has_retransmits: number };
    expect(json.streams.map((s) => [s.id, s.bytes])).toEqual([
      [1, 10],
      [3, 20],
      [4, 1000],
      [5, 1000],
    ]);
    expect(json.sender_has_retransmits).toBe(0);
  });

  it('denies a second client while a test runs, and a stream with the wrong cookie', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = startTest(env, { parallel: 2 });
    const intruder = env.connect();
    intruder.send(cookie('b'));
    expect([...intruder.bytes()]).toEqual([0xff]);
    expect(intruder.ended).toBe(true);
    const good = env.connect();
    good.send(cookie('a'));
    const late = env.connect();
    late.send(cookie('a'));
    expect(ctrl.bytes().at(-1)).toBe(State.TEST_RUNNING);
    // Running now: a new connection is refused without reading anything.
    const busy = env.connect();
    expect([...busy.bytes()]).toEqual([0xff]);
  });

  it('answers SERVER_ERROR with i_errno for a UDP test and frees the server', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = env.connect();
    ctrl.send(cookie('a'));
    ctrl.send(encodeJsonMessage({ udp: true, time: 1, parallel: 1 }));
    expect(Buffer.from(ctrl.bytes()).toString('hex')).toBe('09' + 'fe' + '0000000d' + '00000000');
    expect(env.reports[0]).toMatchObject({ ok: false });
    expect(env.server.busy).toBe(false);
  });

  it('ends the test when the client closes the control connection or terminates', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = startTest(env, {});
    const stream = env.connect();
    stream.send(cookie('a'));
    ctrl.emit('close');
    expect(env.reports[0]).toMatchObject({ ok: false, error: 'the client closed the control connection' });
    expect(stream.destroyed).toBe(true);
    const ctrl2 = startTest(env, {}, cookie('c'));
    ctrl2.send([State.CLIENT_TERMINATE]);
    expect(env.reports[1]).toMatchObject({ ok: false, error: 'the client terminated the test' });
  });

  it('a watchdog ends a test that overruns duration + omit + 5 s', async () => {
    const env = setup();
    await env.server.listen(0);
    startTest(env, { time: 1, omit: 1 });
    const stream = env.connect();
    stream.send(cookie('a'));
    env.clock.advance(6999);
    expect(env.reports).toHaveLength(0);
    env.clock.advance(2);
    expect(env.reports[0]?.error).toMatch(/watchdog/);
  });

  it('-O resets the counters when the omitted seconds are over', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = startTest(env, { time: 2, omit: 1 });
    const stream = env.connect();
    stream.send(cookie('a'));
    stream.send(new Uint8Array(999));
    env.clock.advance(1000);
    stream.send(new Uint8Array(10));
    env.clock.advance(2000);
    ctrl.send([State.TEST_END]);
    const mark = ctrl.bytes().length;
    ctrl.send(encodeJsonMessage(CLIENT_RESULTS));
    expect(parseOutput(ctrl.bytes(), mark).json).toMatchObject({ streams: [{ bytes: 10, end_time: 2 }] });
  });

  it('drops a connection that never sends its cookie', async () => {
    const env = setup();
    await env.server.listen(0);
    const c = env.connect();
    c.send([1, 2, 3]);
    env.clock.advance(10_001);
    expect(c.destroyed).toBe(true);
    expect(env.server.busy).toBe(false);
  });

  it('drops a control connection that sends garbage instead of parameters', async () => {
    const env = setup();
    await env.server.listen(0);
    const ctrl = env.connect();
    ctrl.send(cookie('a'));
    ctrl.send([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]);
    expect(env.reports[0]).toMatchObject({ ok: false });
    expect(env.reports[0]?.error).toMatch(/bad params message/);
    expect(ctrl.ended).toBe(true);
  });
});
