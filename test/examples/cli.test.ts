/**
 * The examples as command-line programs (`node dist/examples/<name>.js`, as the docs say),
 * each a child process opening its own stack from TCPIP_TAP / TCPIP_NETNS / TCPIP_ADDR.
 * Needs the build (`npm run build`); skipped with a message when dist/ is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, ipIn, uniqueNetnsName } from '../../src/cli/netns.js';
import { packageRoot } from '../../src/link/tap.js';
import { interopSkipReason, sleep } from '../helpers/socket-tap.js';

/** TCPIP_EXAMPLES_DIST points at another build of the examples (default dist/examples). */
const DIST = process.env['TCPIP_EXAMPLES_DIST'] ?? join(packageRoot(), 'dist', 'examples');
let skip = interopSkipReason('examples/cli', false);
if (skip === undefined && !existsSync(join(DIST, 'echo_server.js'))) {
  skip = `${DIST}/echo_server.js is not built (npm run build)`;
  console.warn(`[examples/cli] SKIPPED: ${skip}`);
}

describe.skipIf(skip !== undefined)('examples as child processes on their own TAP', () => {
  let ns = '';
  beforeAll(() => {
    ns = uniqueNetnsName('sock-cli');
    createNetns(ns);
  });
  afterAll(() => {
    if (ns !== '') deleteNetns(ns);
  });

  it('prints the usage and exits 1 without arguments', () => {
    const r = spawnSync(process.execPath, [join(DIST, 'echo_server.js')], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('Usage : echo_server <port>\n');
  });

  it('node dist/examples/echo_server.js 9190 serves 5 nc clients and exits 0', async () => {
    const child = spawn(process.execPath, [join(DIST, 'echo_server.js'), '9190'], {
      env: { ...process.env, TCPIP_TAP: 'tcpip0', TCPIP_NETNS: ns, TCPIP_ADDR: '10.77.67.2/24' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      for (let i = 0; i < 200 && !ipIn(ns, '-o', 'link', 'show').includes('tcpip0'); i++) await sleep(25);
      ipIn(ns, 'addr', 'add', '10.77.67.1/24', 'dev', 'tcpip0');
      ipIn(ns, 'link', 'set', 'tcpip0', 'up');
      for (let i = 1; i <= 5; i++) {
        const r = spawnSync('ip', ['netns', 'exec', ns, 'nc', '-N', '-w', '5', '10.77.67.2', '9190'], {
          input: `client ${i}\n`,
          encoding: 'utf8',
          timeout: 10_000,
        });
        expect(r.stdout).toBe(`client ${i}\n`);
      }
      expect(await exited).toBe(0);
      expect(err).toBe('');
      expect(out).toBe([1, 2, 3, 4, 5].map((i) => `Connected client ${i} \n`).join(''));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
