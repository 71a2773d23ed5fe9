/**
 * Our Node-style createServer() against node:net's own client running on the Linux kernel
 * inside the namespace (a child `node` process via `ip netns exec`): pipe echo of 4 MB
 * with backpressure, half-close, several concurrent connections, and remote addresses.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNet, type TcpSocket } from '../../src/socket/index.js';
import { interopSkipReason, TapEnv } from '../helpers/socket-tap.js';

const skip = interopSkipReason('examples/net', false);

/** The kernel-side client: N parallel connections, each sends `size` bytes, ends, and checks the echo. */
const NODE_CLIENT = `
const net = require('node:net');
const crypto = require('node:crypto');
const [host, port, size, conns] = process.argv.slice(1);
let left = Number(conns);
for (let k = 0; k < Number(conns); k++) {
  const data = crypto.randomBytes(Number(size));
  const s = net.connect({ host, port: Number(port) }, () => {
    s.write(data.subarray(0, 1000));
    s.end(data.subarray(1000));
  });
  const got = [];
  s.on('data', (d) => got.push(d));
  s.on('end', () => {
    const echo = Buffer.concat(got);
    if (Buffer.compare(echo, data) !== 0) { console.error('mismatch', echo.length); process.exit(1); }
    console.log('ok', k, s.localPort, crypto.createHash('sha256').update(echo).digest('hex').slice(0, 8));
    if (--left === 0) process.exit(0);
  });
  s.on('error', (e) => { console.error('error', e.code); process.exit(1); });
}
setTimeout(() => { console.error('timeout'); process.exit(2); }, 30000);
`;

const HALF_CLOSE_CLIENT = `
const net = require('node:net');
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]), allowHalfOpen: true }, () => s.end('upload'));
let reply = '';
s.on('data', (d) => (reply += d));
s.on('end', () => { console.log(reply); process.exit(0); });
s.on('error', (e) => { console.error('error', e.code); process.exit(1); });
`;

describe.skipIf(skip !== undefined)('createServer against node:net on the kernel', () => {
  let env: TapEnv;

  beforeAll(() => {
    env = new TapEnv('net', 65);
  });
  afterAll(() => env?.close());

  it('pipe echo: 3 concurrent node:net clients, 4 MB each, intact', async () => {
    const net = createNet({ tcp: env.stack.tcp, clock: env.stack.clock, localAddr: env.stack.addr });
    const peers: string[] = [];
    const server = net.createServer((sock: TcpSocket) => {
      peers.push(`${sock.remoteAddress}:${sock.remotePort}`);
      sock.pipe(sock);
    });
    await new Promise<void>((resolve) => server.listen(9195, resolve));
    const r = await env.spawn(process.execPath, ['-e', NODE_CLIENT, env.stackAddr, '9195', String(4 * 1024 * 1024), '3'], { stdbuf: false, timeoutMs: 40_000 }).done;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      const [ok, , port] = l.split(' ');
      expect(ok).toBe('ok');
      expect(peers).toContain(`${env.kernelAddr}:${port}`);
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }, 60_000);

  it('half-close: the server answers after the client end()', async () => {
    const net = createNet({ tcp: env.stack.tcp, clock: env.stack.clock, localAddr: env.stack.addr });
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      const h = createHash('sha256');
      let n = 0;
      sock.on('data', (d: Buffer) => {
        n += d.length;
        h.update(d);
      });
      sock.on('end', () => sock.end(`got ${n} bytes ${h.digest('hex').slice(0, 8)}`));
    });
    await new Promise<void>((resolve) => server.listen(9196, resolve));
    const r = await env.spawn(process.execPath, ['-e', HALF_CLOSE_CLIENT, env.stackAddr, '9196'], { stdbuf: false }).done;
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`got 6 bytes ${createHash('sha256').update('upload').digest('hex').slice(0, 8)}`);
    server.close();
  });
});
