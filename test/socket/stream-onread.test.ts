/**
 * TcpSocket's `onread` mode (Node net.Socket's option, and setOnRead() for accepted
 * sockets): received data is copied into one reused buffer and handed to a callback, no
 * Buffer per read and no 'data' events; false from the callback pauses, resume() goes on.
 * Two real stacks on virtual time.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createNet, type TcpSocket } from '../../src/socket/index.js';
import { drive, driveUntil } from '../helpers/socket-drive.js';
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

describe('onread: reads into a reused buffer', () => {
  it('setOnRead() on an accepted socket: every byte through the one buffer, in order, then end', async () => {
    const env = nets();
    const buffer = new Uint8Array(1000);
    const got: Buffer[] = [];
    const bufs = new Set<Uint8Array>();
    let dataEvents = 0;
    let server: TcpSocket | undefined;
    env.server
      .createServer((s) => {
        server = s;
        s.on('data', () => dataEvents++);
        s.setOnRead({
          buffer,
          callback: (n, b) => {
            bufs.add(b);
            expect(n).toBeGreaterThan(0);
            expect(n).toBeLessThanOrEqual(buffer.length);
            got.push(Buffer.from(b.subarray(0, n)));
          },
        });
      })
      .listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190 });
    const data = pattern(200_000);
    c.end(data);
    await driveUntil(env.sim, () => server !== undefined);
    await drive(env.sim, once(server!, 'end'));
    expect(Buffer.compare(Buffer.concat(got), data)).toBe(0);
    expect([...bufs]).toEqual([buffer]);
    expect(dataEvents).toBe(0);
    expect(server!.bytesRead).toBe(data.length);
  });

  it('false from the callback pauses; resume() reads on even when no new data arrives', async () => {
    const env = nets();
    let total = 0;
    let calls = 0;
    let server: TcpSocket | undefined;
    env.server
      .createServer({ onread: { buffer: () => new Uint8Array(4096), callback: (n) => ((total += n), ++calls !== 3) } }, (s) => {
        server = s;
      })
      .listen(9190);
    const c = env.client.connect({ host: '10.77.0.2', port: 9190 });
    // More than the receive buffer (256 KiB): while paused the window closes, so nothing
    // (not even the FIN) can arrive to restart reading; only resume() can.
    const data = pattern(600_000);
    c.write(data);
    await driveUntil(env.sim, () => calls === 3);
    const atPause = total;
    // Paused after the third read: the rest waits in TCP (the window closes, nothing arrives).
    for (let i = 0; i < 2000 && env.sim.step(); i++);
    expect(calls).toBe(3);
    expect(server!.isPaused()).toBe(true);
    expect(total).toBe(atPause);
    expect(total).toBeLessThan(data.length);
    server!.resume();
    c.end();
    await drive(env.sim, once(server!, 'end'));
    expect(total).toBe(data.length);
  });
});
