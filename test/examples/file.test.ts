/**
 * file_server/file_client (half-close) against the real Linux kernel with a 10 MB file:
 * the bytes arrive with the same SHA-256, and the "Thank you" the client sends after
 * the server's shutdown(SHUT_WR) still reaches the server. Both directions: TS server /
 * C client and C server / TS client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as file_client } from '../../examples/file_client.js';
import { main as file_server } from '../../examples/file_server.js';
import { interopSkipReason, TapEnv } from '../helpers/socket-tap.js';

const skip = interopSkipReason('examples/file');
const SIZE = 10 * 1024 * 1024;

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe.skipIf(skip !== undefined)('file transfer with half-close over a TAP against Linux programs', () => {
  let env: TapEnv;
  let file = '';
  let digest = '';

  beforeAll(() => {
    env = new TapEnv('file', 64);
    env.compile(['file_client', 'file_server']);
    const data = randomBytes(SIZE);
    file = join(env.dir, 'send.bin');
    writeFileSync(file, data);
    digest = sha256(data);
  });
  afterAll(() => env?.close());

  it('TS file_server sends 10 MB to the C file_client, then reads its Thank you', async () => {
    const cwd = join(env.dir, 'c-client');
    mkdirSync(cwd);
    const t0 = performance.now();
    const server = env.runExample(file_server, ['file_server', '9194', file]);
    const client = await env.spawn(env.bin('file_client'), [env.stackAddr, '9194'], { cwd, timeoutMs: 60_000 }).done;
    const s = await server.done;
    const ms = performance.now() - t0;
    console.log(`[examples/file] TS server -> C client: ${SIZE} bytes in ${ms.toFixed(0)} ms (${((SIZE * 8) / ms / 1000).toFixed(1)} Mbit/s)`);
    expect(client.status).toBe(0);
    expect(client.stdout).toBe('Received file data\n');
    expect(sha256(readFileSync(join(cwd, 'receive.dat')))).toBe(digest);
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect(s.stdout).toBe('Message from client: Thank you \n');
  }, 90_000);

  it('TS file_client receives 10 MB from the C file_server on the kernel, then says Thank you', async () => {
    const out = join(env.dir, 'ts-receive.dat');
    const server = env.spawn(env.bin('file_server'), ['9294', file], { timeoutMs: 60_000 });
    await env.waitListening('tcp', 9294);
    const t0 = performance.now();
    const r = await env.runExample(file_client, ['file_client', env.kernelAddr, '9294'], { env: { FILE_CLIENT_OUT: out } }).done;
    const ms = performance.now() - t0;
    console.log(`[examples/file] C server -> TS client: ${SIZE} bytes in ${ms.toFixed(0)} ms (${((SIZE * 8) / ms / 1000).toFixed(1)} Mbit/s)`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Received file data\n');
    expect(sha256(readFileSync(out))).toBe(digest);
    const s = await server.done;
    expect(s.status).toBe(0);
    expect(s.stdout).toBe('Message from client: Thank you \n');
  }, 90_000);
});
