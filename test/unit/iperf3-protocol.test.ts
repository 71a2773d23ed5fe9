import { describe, expect, it } from 'vitest';
import {
  ByteQueue,
  COOKIE_SIZE,
  encodeJsonMessage,
  encodeServerError,
  IperfErrno,
  MAX_JSON_LEN,
  parseClientResults,
  parseParams,
  State,
  stateByte,
  streamId,
  takeJsonMessage,
  toSignedState,
} from '../../src/iperf3/protocol.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('iperf3 protocol constants', () => {
  it('match iperf_api.h / iperf.h', () => {
    expect(COOKIE_SIZE).toBe(37);
    expect(State).toEqual({
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
    });
  });

  it('encodes states as one signed byte', () => {
    expect(hex(stateByte(State.PARAM_EXCHANGE))).toBe('09');
    expect(hex(stateByte(State.ACCESS_DENIED))).toBe('ff');
    expect(hex(stateByte(State.SERVER_ERROR))).toBe('fe');
    expect(toSignedState(0xff)).toBe(-1);
    expect(toSignedState(0xfe)).toBe(-2);
    expect(toSignedState(16)).toBe(16);
  });

  it('numbers streams like iperf_add_stream (1, 3, 4, 5 ...)', () => {
    expect([0, 1, 2, 3, 4].map(streamId)).toEqual([1, 3, 4, 5, 6]);
  });
});

describe('JSON framing', () => {
  it('JSON_write: 4-byte big-endian length then the text (golden bytes)', () => {
    const m = encodeJsonMessage({ tcp: true, time: 2 });
    // {"tcp":true,"time":2} is 21 = 0x15 bytes
    expect(hex(m)).toBe('00000015' + Buffer.from('{"tcp":true,"time":2}').toString('hex'));
  });

  it('SERVER_ERROR carries htonl(i_errno) and htonl(errno)', () => {
    expect(hex(encodeServerError(IperfErrno.UNIMP, 22))).toBe('fe' + '0000000d' + '00000016');
  });

  it('reassembles a message split at every byte boundary', () => {
    const msg = encodeJsonMessage({ parallel: 3, reverse: true, client_version: '3.12' });
    const tail = Uint8Array.of(State.TEST_END);
    const all = new Uint8Array([...msg, ...tail]);
    for (let cut = 0; cut <= all.length; cut++) {
      const q = new ByteQueue();
      q.push(all.subarray(0, cut));
      const first = takeJsonMessage(q);
      if (cut < msg.length) {
        expect(first).toBeUndefined();
        q.push(all.subarray(cut));
        const again = takeJsonMessage(q);
        expect(again).toEqual({ ok: true, value: { parallel: 3, reverse: true, client_version: '3.12' } });
      } else {
        expect(first).toEqual({ ok: true, value: { parallel: 3, reverse: true, client_version: '3.12' } });
        q.push(all.subarray(cut));
      }
      expect(q.length).toBe(1);
      expect(q.take(1)[0]).toBe(State.TEST_END);
    }
  });

  it('rejects oversized lengths before buffering them', () => {
    const q = new ByteQueue();
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, MAX_JSON_LEN + 1);
    q.push(hdr);
    const r = takeJsonMessage(q);
    expect(r?.ok).toBe(false);
  });

  it('rejects bad JSON, bad UTF-8 and non-objects', () => {
    const frame = (body: Uint8Array): ByteQueue => {
      const q = new ByteQueue();
      const h = new Uint8Array(4);
      new DataView(h.buffer).setUint32(0, body.length);
      q.push(h);
      q.push(body);
      return q;
    };
    expect(takeJsonMessage(frame(Buffer.from('{"a":')))?.ok).toBe(false);
    expect(takeJsonMessage(frame(Uint8Array.of(0x7b, 0xff, 0x7d)))?.ok).toBe(false);
    expect(takeJsonMessage(frame(Buffer.from('[1,2]')))?.ok).toBe(false);
    expect(takeJsonMessage(frame(Buffer.from('7')))?.ok).toBe(false);
  });
});

describe('parameters', () => {
  it('reads what iperf 3.12 sends for `iperf3 -c x -t 2 -R -P 2`', () => {
    const r = parseParams({ tcp: true, omit: 0, time: 2, num: 0, blockcount: 0, parallel: 2, reverse: true, len: 131072, pacing_timer: 1000, client_version: '3.12' });
    expect(r).toEqual({
      ok: true,
      params: {
        protocol: 'tcp',
        duration: 2,
        omit: 0,
        parallel: 2,
        reverse: true,
        bidirectional: false,
        blksize: 131072,
        bytes: 0,
        blocks: 0,
        getServerOutput: false,
        noDelay: false,
        rate: 0,
        clientVersion: '3.12',
      },
    });
  });

  it('uses iperf defaults for missing keys', () => {
    const r = parseParams({});
    expect(r.ok && r.params).toMatchObject({ protocol: 'tcp', duration: 10, parallel: 1, blksize: 128 * 1024, reverse: false });
  });

  it('maps out-of-range values to iperf error numbers', () => {
    expect(parseParams({ parallel: 1000 })).toMatchObject({ ok: false, iperfErrno: IperfErrno.NUMSTREAMS });
    expect(parseParams({ len: 0 })).toMatchObject({ ok: false, iperfErrno: IperfErrno.BLOCKSIZE });
    expect(parseParams({ time: 'ten' })).toMatchObject({ ok: false, iperfErrno: IperfErrno.RECVPARAMS });
    expect(parseParams({ udp: true })).toMatchObject({ ok: true, params: { protocol: 'udp' } });
  });

  it('validates the client results', () => {
    const good = { cpu_util_total: 1, cpu_util_user: 0.5, cpu_util_system: 0.5, sender_has_retransmits: 1, streams: [{ id: 1, bytes: 10 }] };
    expect(parseClientResults(good)).toEqual({ cpuUtilTotal: 1, streams: [{ id: 1, bytes: 10 }] });
    expect(typeof parseClientResults({ ...good, streams: undefined })).toBe('string');
    expect(typeof parseClientResults({ ...good, cpu_util_user: undefined })).toBe('string');
    expect(typeof parseClientResults({ ...good, streams: [{ id: 1 }] })).toBe('string');
  });
});
