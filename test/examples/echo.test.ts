/**
 * echo_server / echo_client against the real Linux kernel in a namespace: our TS
 * echo_server answers five unmodified clients one after another (the textbook C client
 * built with gcc, nc with a 64 KB message, Python sockets, socat, the C client again);
 * our TS echo_client talks to the C echo_server running on the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as echo_client } from '../../examples/echo_client.js';
import { main as echo_server } from '../../examples/echo_server.js';
import { interopSkipReason, TapEnv } from '../helpers/socket-tap.js';

const skip = interopSkipReason('examples/echo');

const PY_CLIENT = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=10)
for msg in [b'first line\\n', bytes(range(256)) * 256, b'last\\n']:
    s.sendall(msg)
    got = b''
    while len(got) < len(msg):
        chunk = s.recv(65536)
        if not chunk: raise SystemExit('server closed early')
        got += chunk
    assert got == msg, 'echo mismatch'
s.shutdown(socket.SHUT_WR)
assert s.recv(10) == b'', 'expected EOF'
print('python ok')
`;

describe.skipIf(skip !== undefined)('echo over a TAP against Linux programs', () => {
  let env: TapEnv;

  beforeAll(() => {
    env = new TapEnv('echo', 61);
    env.compile(['echo_client', 'echo_server']);
  });
  afterAll(() => env?.close());

  it('TS echo_server serves 5 clients in turn: C echo_client, nc (64 KB), python, socat, C again', async () => {
    const port = '9190';
    const server = env.runExample(echo_server, ['echo_server', port]);
    const ip = env.stackAddr;

    // 1: the textbook C client, several lines, then Q.
    const lines = ['Hello, userspace TCP!\n', 'second line\n', `${'x'.repeat(1000)}\n`];
    const c1 = await env.spawn(env.bin('echo_client'), [ip, port], { input: `${lines.join('')}Q\n` }).done;
    expect(c1.status).toBe(0);
    expect(c1.stdout).toContain('Connected...........');
    for (const l of lines) expect(c1.stdout).toContain(`Message from server: ${l}`);

    // 2: nc sends 64 KB, shuts down its side at EOF (-N) and prints the echo until we close.
    const big = Buffer.alloc(64 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 0x20 + (i % 90);
    const c2 = await env.spawn('nc', ['-N', ip, port], { input: big, stdbuf: false }).done;
    expect(c2.status).toBe(0);
    expect(c2.stdout.length).toBe(big.length);
    expect(c2.stdout === big.toString()).toBe(true);

    // 3: Python sockets: a line, 64 KB of every byte value, a line, then half-close.
    const c3 = await env.spawn('python3', ['-c', PY_CLIENT, ip, port]).done;
    expect(c3.stderr).toBe('');
    expect(c3.stdout).toContain('python ok');

    // 4: socat with stdin.
    const c4 = await env.spawn('socat', ['-t', '2', '-', `TCP:${ip}:${port}`], { input: 'via socat\n', stdbuf: false }).done;
    expect(c4.status).toBe(0);
    expect(c4.stdout).toBe('via socat\n');

    // 5: the C client again.
    const c5 = await env.spawn(env.bin('echo_client'), [ip, port], { input: 'bye\nq\n' }).done;
    expect(c5.stdout).toContain('Message from server: bye\n');

    const r = await server.done;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe([1, 2, 3, 4, 5].map((i) => `Connected client ${i} \n`).join(''));
  });

  it('TS echo_client talks to the C echo_server on the kernel', async () => {
    const port = '9290';
    const server = env.spawn(env.bin('echo_server'), [port]);
    await env.waitListening('tcp', 9290);
    const input = ['one\n', 'two two\n', `${'long '.repeat(150)}\n`];
    const r = await env.runExample(echo_client, ['echo_client', env.kernelAddr, port], { input: `${input.join('')}Q\n` }).done;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `Connected...........\n${input.map((l) => `Input message(Q to quit): Message from server: ${l}`).join('')}Input message(Q to quit): `,
    );
    server.child.kill('SIGTERM');
    await server.done;
  });
});
