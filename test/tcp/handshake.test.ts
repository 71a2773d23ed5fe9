/**
 * Opening connections: RFC 9293 3.5 / 3.10.7.2 / 3.10.7.3 and the option negotiation of
 * RFC 9293 3.7.1 (MSS), RFC 7323 (window scale, timestamps), RFC 2018 (SACK-permitted).
 */
import { describe, expect, it } from 'vitest';
import { LOCAL, LOCAL_PORT, REMOTE, REMOTE_ISS, REMOTE_PORT, TcpHarness } from '../helpers/tcp-peer.js';

describe('active open (RFC 9293 3.10.1 OPEN, 3.10.7.3 SYN-SENT)', () => {
  it('sends <SEQ=ISS><CTL=SYN> with MSS, window scale, SACK-permitted and timestamps', () => {
    const h = new TcpHarness();
    const { conn, syn } = h.connect();
    expect(conn.state).toBe('SYN-SENT');
    expect(syn.mss).toBe(1460); // MUST-14/MUST-67: MSS from the interface MTU (1500 - 40)
    expect(syn.wscale).toBe(3); // 256 KB buffer: 262144 >> 3 fits 16 bits
    expect(syn.sackPermitted).toBe(true);
    expect(syn.ts?.[1]).toBe(0);
    expect(syn.window).toBe(65535); // RFC 7323 2.2: the SYN window is never scaled
    expect(syn.df).toBe(true);
    expect(h.layer.stats().ActiveOpens).toBe(1);
  });

  it('"If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED" and ACK', () => {
    const h = new TcpHarness();
    const { conn } = h.establishedActive();
    expect(conn.state).toBe('ESTABLISHED');
    expect(h.rec.take()).toEqual(['connected']);
    expect(h.layer.stats().CurrEstab).toBe(1);
  });

  it('SYN-SENT: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset <SEQ=SEG.ACK><CTL=RST>"', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: REMOTE_ISS, ack: h.ourNxt + 5, flags: 'SYN,ACK', srcPort: LOCAL_PORT, dstPort: 50000 });
    h.expectSent({ flags: 'RST', seq: h.ourNxt + 5 });
    expect(conn.state).toBe('SYN-SENT');
    // ... unless the RST bit is set: then just drop.
    h.send({ seq: REMOTE_ISS, ack: h.iss, flags: 'RST,ACK', srcPort: LOCAL_PORT, dstPort: 50000 });
    h.expectNothing();
    expect(conn.state).toBe('SYN-SENT');
  });

  it('SYN-SENT: RST with an acceptable ACK refuses the connection (ECONNREFUSED); without ACK it is dropped', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: 0, ack: 0, flags: 'RST', srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('SYN-SENT');
    h.send({ seq: 0, ack: h.ourNxt, flags: 'RST,ACK', srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ECONNREFUSED', 'closed']);
    expect(conn.takeError()).toBe('ECONNREFUSED');
    expect(h.layer.stats().AttemptFails).toBe(1);
  });

  it('simultaneous open (MUST-10): SYN in SYN-SENT -> SYN-RECEIVED, SYN-ACK with <SEQ=ISS>, then ESTABLISHED', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('SYN-RECEIVED');
    h.expectSent({ flags: 'SYN,ACK', seq: h.iss, ack: REMOTE_ISS + 1 });
    h.send({ seq: REMOTE_ISS + 1, ack: h.ourNxt, flags: 'ACK', srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('ESTABLISHED');
    expect(h.rec.take()).toEqual(['connected']);
  });

  it('SYN retries back off 1, 2, 4 ... s and then fail with ETIMEDOUT (synRetries)', () => {
    const h = new TcpHarness({ config: { synRetries: 3 } });
    const { conn } = h.connect();
    const times: number[] = [];
    for (let t = 0; t < 30_000; t += 50) {
      h.advance(50);
      for (const s of h.drain()) {
        expect(s.flags).toBe('SYN');
        times.push(h.clock.now());
      }
    }
    expect(times).toEqual([1000, 3000, 7000]);
    expect(conn.state).toBe('CLOSED');
    expect(h.rec.take()).toEqual(['error:ETIMEDOUT', 'closed']);
    expect(h.layer.stats().TCPSynRetrans).toBe(3);
  });

  it('the peer MSS is used; without an MSS option 536 is assumed (MUST-15)', () => {
    const h = new TcpHarness();
    const { conn } = h.establishedActive({});
    expect(conn.info().mss).toBe(536);
    const h2 = new TcpHarness();
    const r2 = h2.establishedActive({ mss: 1000 });
    expect(r2.conn.info().mss).toBe(1000);
  });
});

describe('passive open (RFC 9293 3.10.7.2 LISTEN)', () => {
  it('SYN -> <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, SYN-RECEIVED; ACK -> ESTABLISHED and acceptable', () => {
    const h = new TcpHarness();
    const l = h.listen();
    let acceptable = 0;
    l.setHandler({ acceptable: () => acceptable++ });
    const sa = h.peerSyn({ mss: 1460 });
    expect(sa.mss).toBe(1460);
    expect(sa.wscale).toBeUndefined(); // RFC 7323: no window scale in the SYN-ACK unless the SYN had it
    expect(sa.sackPermitted).toBeUndefined();
    expect(sa.ts).toBeUndefined();
    expect(l.pendingCount).toBe(0);
    h.send(h.seg());
    expect(l.pendingCount).toBe(1);
    expect(acceptable).toBe(1);
    const c = l.accept()!;
    expect(c.state).toBe('ESTABLISHED');
    expect([c.localAddr, c.localPort, c.remoteAddr, c.remotePort]).toEqual([LOCAL, LOCAL_PORT, REMOTE, REMOTE_PORT]);
    expect(h.layer.stats().PassiveOpens).toBe(1);
  });

  it('negotiates window scale, SACK and timestamps when the SYN offers them', () => {
    const h = new TcpHarness();
    h.listen();
    const sa = h.peerSyn({ mss: 1460, wscale: 7, sackPermitted: true, ts: [5000, 0] });
    expect(sa.wscale).toBe(3);
    expect(sa.sackPermitted).toBe(true);
    expect(sa.ts?.[1]).toBe(5000);
    expect(sa.window).toBe(65535);
    h.send(h.seg({ ts: [5001, sa.ts![0]], window: 100 }));
    const c = h.listener!.accept()!;
    const info = c.info();
    expect(info.sndWscale).toBe(7);
    expect(info.rcvWscale).toBe(3);
    expect(info.sndWnd).toBe(100 << 7);
    expect(info.sackEnabled).toBe(true);
    expect(info.timestampsEnabled).toBe(true);
    expect(info.mss).toBe(1460 - 12); // timestamps take 12 bytes of every segment (MUST-16)
  });

  it('RST to a listener is ignored; ACK to a listener draws <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = new TcpHarness({ config: { syncookies: 'off' } });
    h.listen();
    h.send({ seq: 5, ack: 77, flags: 'RST' });
    h.expectNothing();
    h.send({ seq: 5, ack: 77, flags: 'ACK' });
    h.expectSent({ flags: 'RST', seq: 77 });
  });

  it('a retransmitted SYN in SYN-RECEIVED gets the SYN-ACK again', () => {
    const h = new TcpHarness();
    h.listen();
    const sa = h.peerSyn();
    h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460 });
    h.expectSent({ flags: 'SYN,ACK', seq: sa.seq, ack: REMOTE_ISS + 1 });
  });

  it('SYN-RECEIVED: an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = new TcpHarness();
    h.listen();
    h.peerSyn();
    h.send(h.seg({ ack: h.ourNxt + 100 }));
    h.expectSent({ flags: 'RST', seq: h.ourNxt + 100 });
  });

  it('SYN-RECEIVED (passive): RST at RCV.NXT returns to LISTEN silently', () => {
    const h = new TcpHarness();
    const l = h.listen();
    h.peerSyn();
    h.send(h.seg({ flags: 'RST' }));
    h.expectNothing();
    h.send(h.seg());
    // The half-open connection is gone: the ACK now hits the listener and is reset.
    expect(l.pendingCount).toBe(0);
    expect(h.layer.stats().AttemptFails).toBe(1);
  });

  it('SYN-ACK retransmission backs off and gives up after synAckRetries', () => {
    const h = new TcpHarness({ config: { synAckRetries: 2 } });
    h.listen();
    h.peerSyn();
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      h.advance(50);
      for (const s of h.drain()) {
        expect(s.flags).toBe('SYN,ACK');
        times.push(h.clock.now());
      }
    }
    expect(times).toEqual([1000, 3000]);
    expect(h.layer.connections()).toHaveLength(0);
  });
});

describe('RFC 9293 3.10.7.1 CLOSED: reset generation', () => {
  it('ACK set -> <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = new TcpHarness();
    h.send({ seq: 100, ack: 5000, flags: 'ACK', payload: 'xy' });
    h.expectSent({ flags: 'RST', seq: 5000, ack: 0 });
    expect(h.layer.stats().OutRsts).toBe(1);
  });
  it('ACK off -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count)', () => {
    const h = new TcpHarness();
    h.send({ seq: 100, ack: 0, flags: 'SYN', payload: 'abc' });
    h.expectSent({ flags: 'RST,ACK', seq: 0, ack: 104 });
    h.send({ seq: 200, ack: 0, flags: 'FIN' });
    h.expectSent({ flags: 'RST,ACK', seq: 0, ack: 201 });
  });
  it('never RST a RST', () => {
    const h = new TcpHarness();
    h.send({ seq: 100, ack: 5, flags: 'RST,ACK' });
    h.send({ seq: 100, ack: 0, flags: 'RST' });
    h.expectNothing();
  });
});

describe('more opening cases', () => {
  it('simultaneous open where the peer answers with SYN-ACK: ESTABLISHED at once (Linux), with an ACK', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: REMOTE_ISS, ack: 0, flags: 'SYN', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    h.expectSent({ flags: 'SYN,ACK' });
    h.send({ seq: REMOTE_ISS, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    expect(conn.state).toBe('ESTABLISHED');
    h.expectSent({ flags: 'ACK', seq: h.ourNxt, ack: REMOTE_ISS + 1 });
  });

  it('data written in SYN-SENT is queued and sent once ESTABLISHED (RFC 9293 3.10.2)', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    expect(conn.write(new TextEncoder().encode('early'))).toBe(5);
    h.expectNothing();
    h.send({ seq: REMOTE_ISS, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000 });
    // The data segment carries the handshake's ACK.
    h.expectSent({ flags: 'PSH,ACK', seq: h.ourNxt, ack: REMOTE_ISS + 1, payload: 'early' });
  });

  it('text on the SYN-ACK is delivered after the handshake (continue at the sixth step)', () => {
    const h = new TcpHarness();
    const { conn } = h.connect();
    h.send({ seq: REMOTE_ISS, ack: h.ourNxt, flags: 'SYN,ACK', mss: 1460, srcPort: LOCAL_PORT, dstPort: 50000, payload: 'hi' });
    expect(conn.readableLength).toBe(2);
    h.drain();
  });
});
