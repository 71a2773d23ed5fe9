/**
 * A request/response server on the stream layer (`s.on('data', () => s.end(reply))`, the
 * connection-rate server of the benchmarks): the reply and the FIN leave in ONE segment
 * (FIN,PSH,ACK), also when the request arrives in the same receive batch as the ACK that
 * completes the handshake, i.e. before the stream started flowing on its own. Linux sends
 * the reply and its FIN apart here (no cork); one segment less per connection each way (the
 * peer then acknowledges both with its own FIN).
 */
import { describe, expect, it } from 'vitest';
import { createNet, type TcpSocket } from '../../src/socket/index.js';
import { LOCAL, LOCAL_PORT, REMOTE_ISS, TcpHarness } from '../helpers/tcp-peer.js';
import { settle } from '../helpers/socket-drive.js';

function rrServer(h: TcpHarness, opts: { pauseOnConnect?: boolean } = {}): TcpSocket[] {
  const net = createNet({ tcp: h.layer, clock: h.clock, localAddr: LOCAL });
  const socks: TcpSocket[] = [];
  net
    .createServer(opts, (s) => {
      socks.push(s);
      s.on('data', () => s.end('R'));
    })
    .listen(LOCAL_PORT);
  return socks;
}

describe('stream server: reply + end() in a data handler', () => {
  it('request in the handshake-completing batch: one FIN,PSH,ACK segment with the reply', async () => {
    const h = new TcpHarness();
    const socks = rrServer(h);
    await settle();
    h.peerSyn();
    h.sendBatch([h.seg(), h.seg({ flags: 'PSH,ACK', payload: 'q' })]);
    await settle();
    expect(socks).toHaveLength(1);
    h.expectSent({ flags: 'FIN,PSH,ACK', seq: h.ourNxt, ack: REMOTE_ISS + 2, payload: 'R' });
    expect(socks[0]!.bytesRead).toBe(1);
  });

  it('request in a later batch (the stream already flowing): one FIN,PSH,ACK segment', async () => {
    const h = new TcpHarness();
    const socks = rrServer(h);
    await settle();
    h.peerSyn();
    h.send(h.seg());
    await settle();
    h.expectNothing();
    expect(socks).toHaveLength(1);
    h.send(h.seg({ flags: 'PSH,ACK', payload: 'q' }));
    await settle();
    h.expectSent({ flags: 'FIN,PSH,ACK', seq: h.ourNxt, ack: REMOTE_ISS + 2, payload: 'R' });
  });

  it('a paused socket (pauseOnConnect) does not read early; resumed from outside a callback, reply and FIN go apart', async () => {
    const h = new TcpHarness();
    const socks = rrServer(h, { pauseOnConnect: true });
    await settle();
    h.peerSyn();
    h.sendBatch([h.seg(), h.seg({ flags: 'PSH,ACK', payload: 'q' })]);
    await settle();
    expect(socks).toHaveLength(1);
    expect(socks[0]!.bytesRead).toBe(0);
    h.drain(); // the ACK of the request (no reply yet)
    socks[0]!.resume();
    await settle();
    h.expectSentAll([{ flags: 'PSH,ACK', payload: 'R' }, { flags: 'FIN,ACK' }]);
  });
});
