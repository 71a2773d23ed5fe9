/**
 * UDP examples against the real Linux kernel: uecho_server/uecho_client with the textbook
 * C programs, nc -u and Python; bound_host1/bound_host2 showing that three datagrams stay
 * three messages, in both directions (TS receiver / C sender and C receiver / TS sender).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as bound_host1 } from '../../examples/bound_host1.js';
import { main as bound_host2 } from '../../examples/bound_host2.js';
import { main as uecho_client } from '../../examples/uecho_client.js';
import { main as uecho_server } from '../../examples/uecho_server.js';
import { interopSkipReason, sleep, TapEnv } from '../helpers/socket-tap.js';

const skip = interopSkipReason('examples/udp');

const PY_UDP = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
dst = (sys.argv[1], int(sys.argv[2]))
for msg in [b'a', b'boundaries stay', b'x' * 100]:
    s.sendto(msg, dst)
    data, src = s.recvfrom(65536)
    print(len(msg), len(data), data[:30] == msg[:30], src == dst)
`;

const BOUND_MESSAGES = 'Message 1: Hi! \nMessage 2: I\'m another UDP host! \nMessage 3: Nice to meet you \n';

describe.skipIf(skip !== undefined)('UDP examples over a TAP against Linux programs', () => {
  let env: TapEnv;

  beforeAll(() => {
    env = new TapEnv('udp', 63);
    // bound_host1.c sleeps 5 s before each recvfrom; the test build sleeps 0.3 s instead,
    // leaving the source untouched.
    const fast = `${env.dir}/fast_sleep.c`;
    writeFileSync(fast, '#include <unistd.h>\nunsigned int fast_sleep(unsigned int s) { usleep(s * 60000); return 0; }\n');
    env.compile(['uecho_client', 'uecho_server', 'bound_host1', 'bound_host2'], { bound_host1: ['-Dsleep=fast_sleep', fast] });
  });
  afterAll(() => env?.close());

  it('TS uecho_server answers the C uecho_client, nc -u and Python (30-byte buffer truncates, like C)', async () => {
    const server = env.runExample(uecho_server, ['uecho_server', '9192']);
    const ip = env.stackAddr;
    const c1 = await env.spawn(env.bin('uecho_client'), [ip, '9192'], { input: 'Hello UDP\nsecond datagram\nq\n' }).done;
    expect(c1.status).toBe(0);
    expect(c1.stdout).toBe(
      'Insert message(q to quit): Message from server: Hello UDP\n' +
        'Insert message(q to quit): Message from server: second datagram\n' +
        'Insert message(q to quit): ',
    );
    const c2 = await env.spawn('nc', ['-u', '-w', '1', ip, '9192'], { input: 'via nc\n', stdbuf: false }).done;
    expect(c2.stdout).toBe('via nc\n');
    const c3 = await env.spawn('python3', ['-c', PY_UDP, ip, '9192']).done;
    expect(c3.stderr).toBe('');
    expect(c3.stdout).toBe('1 1 True True\n15 15 True True\n100 30 True True\n');
    for (const fd of env.sys.openFds) env.sys.close(fd);
    const s = await server.done;
    expect(s.stderr).toMatch(/EBADF/); // it loops forever; closing its socket ends it
  });

  it('TS uecho_client talks to the C uecho_server on the kernel', async () => {
    const server = env.spawn(env.bin('uecho_server'), ['9292']);
    await env.waitListening('udp', 9292);
    const r = await env.runExample(uecho_client, ['uecho_client', env.kernelAddr, '9292'], { input: 'ping\npong pong\nQ\n' }).done;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      'Insert message(q to quit): Message from server: ping\nInsert message(q to quit): Message from server: pong pong\nInsert message(q to quit): ',
    );
    server.child.kill('SIGTERM');
    await server.done;
  });

  it('TS bound_host1 receives the C bound_host2 datagrams as 3 separate messages', async () => {
    const before = env.stack.udp.socketCount;
    const host1 = env.runExample(bound_host1, ['bound_host1', '9193'], { env: { BOUND_HOST_DELAY_MS: '300' } });
    for (let i = 0; env.stack.udp.socketCount === before && i < 200; i++) await sleep(5);
    const host2 = await env.spawn(env.bin('bound_host2'), [env.stackAddr, '9193']).done;
    expect(host2.status).toBe(0);
    const r = await host1.done;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(BOUND_MESSAGES);
  });

  it('TS bound_host2 sends 3 datagrams the C bound_host1 reads one by one', async () => {
    const host1 = env.spawn(env.bin('bound_host1'), ['9293']);
    await env.waitListening('udp', 9293);
    const r = await env.runExample(bound_host2, ['bound_host2', env.kernelAddr, '9293']).done;
    expect(r.status).toBe(0);
    const h = await host1.done;
    expect(h.status).toBe(0);
    expect(h.stdout).toBe(BOUND_MESSAGES);
  });
});
