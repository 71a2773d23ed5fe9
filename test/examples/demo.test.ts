/**
 * examples/demo.ts on virtual time: echo, op and UDP echo served concurrently by one
 * stack, each client in its own task (two echo clients interleave), then shut down.
 */
import { describe, expect, it } from 'vitest';
import { ECHO_PORTS, OP_PORT, UECHO_PORT, serveDemo } from '../../examples/demo.js';
import { PF_INET, SOCK_DGRAM, SOCK_STREAM } from '../../src/socket/index.js';
import { drive } from '../helpers/socket-drive.js';
import { twoStacks } from '../helpers/socket-sim.js';

const B = '10.77.0.2';

describe('demo services', () => {
  it('echo (two interleaved clients), op and UDP echo at once; drain ends every loop', async () => {
    const env = twoStacks();
    const log: string[] = [];
    const done = serveDemo(env.sb, (l) => log.push(l));
    const buf = new Uint8Array(100);

    const e1 = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    const e2 = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    await drive(env.sim, env.sa.connect(e1, { addr: B, port: ECHO_PORTS[1] }));
    await drive(env.sim, env.sa.connect(e2, { addr: B, port: ECHO_PORTS[0] }));
    await env.sa.write(e2, 'second first');
    expect(Buffer.from(buf.subarray(0, await drive(env.sim, env.sa.read(e2, buf)))).toString()).toBe('second first');
    await env.sa.write(e1, 'first later');
    expect(Buffer.from(buf.subarray(0, await drive(env.sim, env.sa.read(e1, buf)))).toString()).toBe('first later');

    const op = env.sa.socket(PF_INET, SOCK_STREAM, 0);
    await drive(env.sim, env.sa.connect(op, { addr: B, port: OP_PORT }));
    const msg = new Uint8Array(1 + 3 * 4 + 1);
    const dv = new DataView(msg.buffer);
    msg[0] = 3;
    [7, -3, 1000].forEach((v, i) => dv.setInt32(1 + 4 * i, v, true));
    msg[13] = '*'.charCodeAt(0);
    await env.sa.write(op, msg);
    const res = new Uint8Array(4);
    expect(await drive(env.sim, env.sa.recv(op, res, 4, 0x100 /* MSG_WAITALL */))).toBe(4);
    expect(new DataView(res.buffer).getInt32(0, true)).toBe(-21000);
    expect(await drive(env.sim, env.sa.read(op, res))).toBe(0); // the server closes after answering

    const u = env.sa.socket(PF_INET, SOCK_DGRAM, 0);
    await env.sa.sendto(u, 'udp!', undefined, 0, { addr: B, port: UECHO_PORT });
    expect(await drive(env.sim, env.sa.recvfrom(u, buf, 100))).toBe(4);

    expect(log.filter((l) => l.includes('connection from'))).toHaveLength(3);
    await drive(env.sim, env.sb.drain(1000));
    await drive(env.sim, done);
    expect(await drive(env.sim, env.sa.read(e1, buf))).toBe(0);
    expect(env.sb.openFds).toEqual([]);
  });
});
