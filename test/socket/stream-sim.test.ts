/**
 * The Node stream adapter over two real stacks on virtual time: a pipe() echo of 1 MB,
 * backpressure through the real TCP windows, half-close, and errors.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createNet, type TcpSocket } from '../../src/socket/index.js';
import { drive, driveUntil, settle } from '../helpers/socket-drive.js';
import { twoStacks } from '../helpers/socket-sim.js';

function nets() {
  const env = twoStacks();
  const client = createNet({ tcp: env.a.tcp, clock: env.sim.clock, localAddr: env.a.addr });
  const server = createNet({ tcp: env.b.tcp, clock: env.sim.clock, localAddr: env.b.addr });
  return { ...env, client, server };
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 8)) & 0xff;
  return b;
}

describe('stream adapter over two stacks', () => {
  it('pipe echo of 1 MB arrives intact', async () => {
    const env = nets();
    env.server.createServer((s) => s.pipe(s)).listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190 });
    const parts: Buffer[] = [];
    c.on('data', (d: Buffer) => parts.push(d));
    const data = pattern(1_000_000);
    c.end(data);
    await drive(env.sim, once(c, 'end'));
    expect(Buffer.compare(Buffer.concat(parts), data)).toBe(0);
  });

  it('backpressure: write() returns false while the paused peer leaves the window closed; drain follows its reads', async () => {
    const env = nets();
    const socks: TcpSocket[] = [];
    env.server
      .createServer((s) => {
        s.pause();
        socks.push(s);
      })
      .listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190 });
    await drive(env.sim, once(c, 'connect'));
    await driveUntil(env.sim, () => socks.length === 1);
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    let queued = 0;
    for (let i = 0; i < 100; i++) {
      while (c.write(chunk)) queued += chunk.length;
      queued += chunk.length;
      let drained = false;
      c.once('drain', () => (drained = true));
      for (let k = 0; k < 200 && !drained; k++) {
        await settle();
        env.sim.step();
      }
      if (!drained) break; // stuck: the TCP send buffer and the peer window are full
    }
    // Flow control held: far less than 100 x 64 KB left the stream.
    const sent = c.bytesWritten;
    expect(sent).toBeLessThan(queued);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
    const got: Buffer[] = [];
    socks[0]!.on('data', (d: Buffer) => got.push(d));
    socks[0]!.resume();
    c.end();
    await drive(env.sim, once(socks[0]!, 'end'));
    expect(Buffer.concat(got).length).toBe(queued);
  });

  it('half-close with allowHalfOpen: upload, FIN, then the answer still arrives', async () => {
    const env = nets();
    env.server
      .createServer({ allowHalfOpen: true }, (s) => {
        let n = 0;
        s.on('data', (d: Buffer) => (n += d.length));
        s.on('end', () => s.end(`Thank you for ${n} bytes`));
      })
      .listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190, allowHalfOpen: true });
    let answer = '';
    c.on('data', (d: Buffer) => (answer += d.toString()));
    c.end(pattern(300_000));
    await drive(env.sim, once(c, 'close'));
    expect(answer).toBe('Thank you for 300000 bytes');
  });

  it('connect to a closed port: error ECONNREFUSED', async () => {
    const env = nets();
    const c = env.client.connect(9999, '10.77.0.2');
    const [err] = (await drive(env.sim, once(c, 'error'))) as [{ code: string; message: string }];
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toBe('connect ECONNREFUSED 10.77.0.2:9999');
  });
});
