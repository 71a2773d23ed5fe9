/**
 * Tests of the conformance harness itself (pure, no kernel): the scenario parser, the
 * wire codec (golden bytes), the outbound matcher and the executor against a scripted
 * fake runner. If these break, the differential results mean nothing.
 */
import { describe, expect, it } from 'vitest';
import { parseScript } from './parse.js';
import { ScriptError } from './script.js';
import { PacketState, PEER_ADDRS } from './packets.js';
import { Executor } from './executor.js';
import { pcapBytes } from './pcap.js';
import {
  TCP_ACK, TCP_PSH, TCP_SYN, buildTcp, decodeFrame, encodeTcpOptions, internetChecksum, parseIpv4, parseMac,
} from './wire.js';
import { SUT_IP, SUT_MAC, PEER_IP, PEER_MAC, type Runner, type SysRequest, type SysResult } from './runner.js';
import { loadAllowlist, loadScenarios } from './suite.js';

const SUT_ADDRS = { srcMac: parseMac(SUT_MAC), dstMac: parseMac(PEER_MAC), srcIp: parseIpv4(SUT_IP), dstIp: parseIpv4(PEER_IP) };

describe('parser', () => {
  it('parses times, syscalls, packets, options and directives', () => {
    const s = parseScript(
      [
        '--tolerance_ms=10',
        '`sysctl -q net.ipv4.tcp_sack=0`',
        '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
        '+.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7> // comment',
        '+0~+.2 > S. 0:0(0) ack 1 win ... <mss 1460,TS val $t ecr 100,...>',
        '+0...0.5 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)',
        '* > [rport=40001] R 7:7(0) win 0',
        '+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0',
      ].join('\n'),
      'inline',
    );
    expect(s.options).toEqual({ tolerance_ms: '10' });
    expect(s.sysctls).toEqual({ 'net.ipv4.tcp_sack': '0' });
    expect(s.events).toHaveLength(6);
    const [sock, syn, synack, read, rst, linger] = s.events;
    expect(sock).toMatchObject({ kind: 'syscall', time: { kind: 'abs', lo: 0 }, call: { name: 'socket', ret: 3 } });
    expect(syn).toMatchObject({ kind: 'packet', dir: 'in', time: { kind: 'rel', lo: 100, hi: 100 } });
    if (syn?.kind !== 'packet' || syn.pkt.proto !== 'tcp') throw new Error('not tcp');
    expect(syn.pkt.flags).toBe(TCP_SYN);
    expect(syn.pkt.win).toEqual({ kind: 'eq', v: { kind: 'num', n: 32792 } });
    expect(syn.pkt.options).toMatchObject({ mode: 'exact' });
    if (synack?.kind !== 'packet' || synack.pkt.proto !== 'tcp') throw new Error('not tcp');
    expect(synack.time).toEqual({ kind: 'rel', lo: 0, hi: 200 });
    expect(synack.pkt.options).toMatchObject({ mode: 'subset' });
    expect(read).toMatchObject({ call: { name: 'read', ret: -1, errno: 'EAGAIN' }, end: { kind: 'abs', t: 500 } });
    expect(rst).toMatchObject({ time: { kind: 'any' }, flow: { rport: 40001 } });
    expect(linger).toMatchObject({ call: { args: [{ n: 4 }, {}, {}, { kind: 'struct' }, { n: 8 }] } });
  });

  it('rejects malformed lines with the line number', () => {
    const bad = [
      ['0 < S 0:10(0) win 1', 'does not match length'],
      ['0 < . 1:1(0) win 1', "needs 'ack N'"],
      ['0 < S 0:0(0) <mss 1460,bogus 3>', 'unknown TCP option'],
      ['0 `rm -rf /`', 'expected'],
      ['`echo hi`', 'only `sysctl'],
      ['--nope=1', 'unknown option'],
      ['* < S 0:0(0)', 'needs a time'],
    ];
    for (const [src, msg] of bad) {
      expect(() => parseScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n${src}`, 'f.pkt')).toThrow(ScriptError);
      expect(() => parseScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n${src}`, 'f.pkt')).toThrow(msg!);
    }
  });

  it('parses every scenario file and the allow-list', () => {
    const all = loadScenarios('');
    expect(all.length).toBeGreaterThanOrEqual(60);
    const names = new Set(all.map((s) => s.name));
    for (const a of loadAllowlist()) expect(names.has(a.scenario)).toBe(true);
  });
});

describe('wire codec', () => {
  it('encodes TCP options with zero padding to 32 bits (golden bytes)', () => {
    expect([...encodeTcpOptions([{ kind: 'mss', mss: 1460 }, { kind: 'sackOK' }, { kind: 'wscale', shift: 7 }])]).toEqual([
      2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 0, 0, 0,
    ]);
    expect([...encodeTcpOptions([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'ts', val: 0x01020304, ecr: 5 }])]).toEqual([
      1, 1, 8, 10, 1, 2, 3, 4, 0, 0, 0, 5,
    ]);
  });

  it('builds a SYN frame with valid checksums (golden header bytes) and decodes it back', () => {
    const f = buildTcp(PEER_ADDRS, {
      srcPort: 50000, dstPort: 8080, seq: 1, ack: 0, flags: TCP_SYN, win: 65535, urg: 0,
      options: [{ kind: 'mss', mss: 1460 }], payload: new Uint8Array(0),
    });
    expect(f.length).toBe(14 + 20 + 24);
    // Ethernet: dst SUT, src peer, type IPv4.
    expect([...f.subarray(0, 14)]).toEqual([2, 0, 0, 0x77, 1, 1, 2, 0, 0, 0x77, 1, 2, 8, 0]);
    // IPv4: 45 00 len=44, id 0, DF, TTL 64, TCP, checksum, 10.77.1.2 -> 10.77.1.1
    expect([...f.subarray(14, 24)]).toEqual([0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6]);
    expect(internetChecksum(f.subarray(14, 34))).toBe(0);
    // TCP: ports, seq 1, data offset 6 words, SYN.
    expect([...f.subarray(34, 48)]).toEqual([0xc3, 0x50, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02]);
    const d = decodeFrame(f);
    expect(d.kind).toBe('tcp');
    if (d.kind !== 'tcp') return;
    expect(d.tcp).toMatchObject({ srcPort: 50000, dstPort: 8080, seq: 1, flags: TCP_SYN, win: 65535, options: [{ kind: 'mss', mss: 1460 }] });
  });

  it('reports a corrupted checksum as malformed', () => {
    const f = buildTcp(PEER_ADDRS, { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TCP_ACK, win: 5, urg: 0, options: [], payload: new Uint8Array([1, 2, 3]) });
    f[f.length - 1] = f[f.length - 1]! ^ 0xff;
    expect(decodeFrame(f)).toEqual({ kind: 'malformed', reason: 'bad TCP checksum' });
  });

  it('writes a classic pcap (golden global header)', () => {
    const b = pcapBytes([{ t: 1500.5, frame: new Uint8Array([1, 2, 3]) }]);
    expect([...b.subarray(0, 8)]).toEqual([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    const v = new DataView(b.buffer);
    expect(v.getUint32(20, true)).toBe(1); // LINKTYPE_ETHERNET
    expect(v.getUint32(24, true)).toBe(1); // 1.5005 s
    expect(v.getUint32(28, true)).toBe(500_500);
    expect(v.getUint32(32, true)).toBe(3);
    expect([...b.subarray(40)]).toEqual([1, 2, 3]);
  });
});

function sutSegment(seq: number, ack: number, flags: number, options: Parameters<typeof buildTcp>[1]['options'] = [], len = 0) {
  return decodeFrame(buildTcp(SUT_ADDRS, { srcPort: 8080, dstPort: 50000, seq, ack, flags, win: 1000, urg: 0, options, payload: new Uint8Array(len).map((_, i) => (i * 7 + 13) & 255) }));
}

describe('outbound matching', () => {
  const line = (text: string) => {
    const ev = parseScript(`0 ${text}`, 'x').events[0]!;
    if (ev.kind !== 'packet') throw new Error('not a packet');
    return ev;
  };

  it('learns the SUT ISN from its SYN and checks later segments relative to it', () => {
    const st = new PacketState();
    const syn = line('> S. 0:0(0) ack 1 win ... <mss 1460,...>');
    st.check(syn.flow, syn.pkt, sutSegment(777000, 1, TCP_SYN | TCP_ACK, [{ kind: 'mss', mss: 1460 }, { kind: 'sackOK' }]));
    const data = line('> P. 1:11(10) ack 1 win 1000');
    st.check(data.flow, data.pkt, sutSegment(777001, 1, TCP_PSH | TCP_ACK, [], 10));
    expect(() => st.check(data.flow, data.pkt, sutSegment(777002, 1, TCP_PSH | TCP_ACK, [], 10))).toThrow('seq 2:12(10)');
  });

  it('applies exact, set and subset option modes and captures values', () => {
    const st = new PacketState();
    const opts = [{ kind: 'mss' as const, mss: 1460 }, { kind: 'nop' as const }, { kind: 'wscale' as const, shift: 7 }];
    const seg = sutSegment(5, 1, TCP_SYN | TCP_ACK, opts);
    const exact = line('> S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>');
    st.check(exact.flow, exact.pkt, seg);
    const exactWrong = line('> S. 0:0(0) ack 1 <nop,mss 1460,wscale 7>');
    expect(() => st.check(exactWrong.flow, exactWrong.pkt, seg)).toThrow('found mss where nop was expected');
    const set = line('> S. 0:0(0) ack 1 <wscale $ws,mss 1460>');
    st.check(set.flow, set.pkt, seg);
    st.commitCaptures();
    expect(st.captures.get('ws')).toBe(7);
    const setMissing = line('> S. 0:0(0) ack 1 <mss 1460>');
    expect(() => st.check(setMissing.flow, setMissing.pkt, seg)).toThrow('unexpected wscale');
    const absent = line('> S. 0:0(0) ack 1 <!sackOK,...>');
    st.check(absent.flow, absent.pkt, seg);
    const mustBeAbsent = line('> S. 0:0(0) ack 1 <!wscale,...>');
    expect(() => st.check(mustBeAbsent.flow, mustBeAbsent.pkt, seg)).toThrow('wscale must be absent');
  });

  it('treats PSH as optional unless the script asks for it, and checks payload bytes', () => {
    const st = new PacketState();
    st.check(line('> S. 0:0(0) ack 1 <...>').flow, line('> S. 0:0(0) ack 1 <...>').pkt, sutSegment(100, 1, TCP_SYN | TCP_ACK));
    const noPush = line('> . 1:11(10) ack 1');
    st.check(noPush.flow, noPush.pkt, sutSegment(101, 1, TCP_PSH | TCP_ACK, [], 10));
    const push = line('> P. 11:21(10) ack 1');
    expect(() => st.check(push.flow, push.pkt, sutSegment(111, 1, TCP_ACK, [], 10))).toThrow('flags .');
    // Bytes 0..9 of the pattern at stream offset 10 are not what sutSegment() put there.
    expect(() => st.check(push.flow, push.pkt, sutSegment(111, 1, TCP_PSH | TCP_ACK, [], 10))).toThrow('payload byte');
  });
});

/** A fake SUT: answers a SYN with a SYN-ACK (ISN 1000) after `delay` ms of virtual time. */
class FakeRunner implements Runner {
  readonly name = 'fake';
  readonly timeKind = 'virtual' as const;
  private t = 0;
  private out: ((f: Uint8Array, t: number) => void) | undefined;
  private timers: Array<{ at: number; fn: () => void }> = [];
  readonly calls: SysRequest[] = [];
  private readonly delay: number;
  constructor(delay: number) {
    this.delay = delay;
  }
  now(): number {
    return this.t;
  }
  async start(onOutbound: (f: Uint8Array, t: number) => void): Promise<void> {
    this.out = onOutbound;
  }
  inject(frame: Uint8Array): void {
    const d = decodeFrame(frame);
    if (d.kind === 'tcp' && d.tcp.flags === TCP_SYN) {
      const syn = d.tcp;
      this.timers.push({
        at: this.t + this.delay,
        fn: () => this.out?.(buildTcp(SUT_ADDRS, { srcPort: 8080, dstPort: syn.srcPort, seq: 1000, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, win: 100, urg: 0, options: [], payload: new Uint8Array(0) }), this.t),
      });
    }
  }
  async call(req: SysRequest): Promise<SysResult> {
    this.calls.push(req);
    return { ret: req.op === 'socket' ? 77 : 0 };
  }
  async wait(deadline: number, done: () => boolean): Promise<void> {
    for (;;) {
      await Promise.resolve();
      if (done()) return;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > deadline) {
        this.t = Math.max(this.t, deadline);
        return;
      }
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
  }
  kick(): void {}
  async close(): Promise<void> {}
}

describe('executor', () => {
  const script = (synackTime: string) =>
    parseScript(
      ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', '+0 listen(3, 1) = 0', '+.1 < S 0:0(0) win 1000', `${synackTime} > S. 0:0(0) ack 1 win 100`].join('\n'),
      'x',
    );

  it('passes when the SUT answers inside the time window and maps fds to handles', async () => {
    const r = new FakeRunner(30);
    const res = await new Executor(script('+0~+.05'), r, { toleranceMs: 5 }).run();
    expect(res.error).toBeUndefined();
    expect(res.ok).toBe(true);
    expect(r.calls[1]).toEqual({ op: 'listen', h: 77, backlog: 1 });
  });

  it('fails with a timing error when the answer is late or early, and records the frames', async () => {
    const late = await new Executor(script('+0'), new FakeRunner(30), { toleranceMs: 5 }).run();
    expect(late.ok).toBe(false);
    expect(late.timing).toBe(true);
    expect(late.error).toContain('expected packet not sent');
    expect(late.frames.map((f) => f.dir)).toEqual(['in']);
    const early = await new Executor(script('+.1'), new FakeRunner(30), { toleranceMs: 5 }).run();
    expect(early.timing).toBe(true);
    expect(early.error).toContain('too early');
    expect(early.frames.map((f) => f.dir)).toEqual(['in', 'out']);
  });

  it('fails on an unexpected packet', async () => {
    const s = parseScript(['0 < S 0:0(0) win 1000', '+.1 < . 1:1(0) ack 1 win 1000'].join('\n'), 'x');
    const res = await new Executor(s, new FakeRunner(10), { toleranceMs: 5 }).run();
    expect(res.ok).toBe(false);
    expect(res.error).toContain('unexpected packet');
  });
});
