/**
 * Our iperf3 server over kernel sockets (node:net), inside a fresh network namespace,
 * against the real `iperf3 -c` client: normal mode, reverse (-R) and -P 3. The client's
 * -J output must show a finished test with a plausible transfer.
 *
 * The server runs as a child process in the namespace (it must listen there). It is
 * transpiled from the current sources into a temp dir first, so the test never runs a
 * stale dist/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, tapAvailable, uniqueNetnsName } from '../../src/cli/netns.js';

const ROOT = resolve(__dirname, '../..');
const PORT = 5201;

/** Transpile `entry` and every module it imports statically (relative imports) into `out`. */
function transpileTree(entry: string, out: string): string {
  const seen = new Set<string>();
  const queue = [resolve(ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dest = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
    for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'/gms)) {
      if (/^import\s+type\s/.test(m[0])) continue;
      queue.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return join(out, relative(ROOT, resolve(ROOT, entry))).replace(/\.ts$/, '.js');
}

function skipReason(): string | undefined {
  const avail = tapAvailable();
  let reason = avail.ok ? undefined : avail.reason;
  if (reason === undefined && spawnSync('iperf3', ['--version'], { stdio: 'ignore' }).status !== 0) reason = 'iperf3 is not installed (node scripts/ensure-tools.mjs)';
  if (reason !== undefined) console.warn(`[iperf3-kernel] SKIPPED: ${reason}`);
  return reason;
}

interface ClientJson {
  error?: string;
  start: { test_start: { reverse: number; num_streams: number } };
  end: { sum_sent: { bytes: number; bits_per_second: number }; sum_received: { bytes: number; seconds: number; bits_per_second: number } };
}

const skip = skipReason();

describe.skipIf(skip !== undefined)('iperf3 server over node:net vs the real iperf3 client', () => {
  let ns = '';
  let dir = '';
  let server: ChildProcess | undefined;
  let serverOut = '';
  let serverJson = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iperf3-kernel-'));
    const bin = transpileTree('examples/iperf3_server.ts', dir);
    ns = createNetns(uniqueNetnsName('iperf3k'));
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, bin, '--kernel', '-p', String(PORT), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => {
      serverOut += d.toString();
      serverJson += d.toString();
    });
    server.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!serverOut.includes('Server listening on')) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server did not start: ${serverOut}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  afterAll(() => {
    if (server?.pid !== undefined && server.exitCode === null) server.kill('SIGKILL');
    if (ns !== '') {
      for (let i = 0; i < 50 && server?.exitCode === null; i++) spawnSync('sleep', ['0.05']);
      deleteNetns(ns);
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function client(args: string[]): ClientJson {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'iperf3', '-c', '127.0.0.1', '-p', String(PORT), '-J', ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, `iperf3 ${args.join(' ')}: ${r.stderr}\n${r.stdout.slice(0, 2000)}\nserver: ${serverOut}`).toBe(0);
    return JSON.parse(r.stdout) as ClientJson;
  }

  it('normal mode: the client sends for 2 s and accepts our receiver results', () => {
    const j = client(['-t', '2']);
    expect(j.error).toBeUndefined();
    expect(j.start.test_start.reverse).toBe(0);
    // sum_received comes from our results message: our byte count over our measured time.
    expect(j.end.sum_received.bytes).toBeGreaterThan(1_000_000);
    expect(j.end.sum_received.bytes).toBeLessThanOrEqual(j.end.sum_sent.bytes);
    expect(j.end.sum_received.bytes).toBeGreaterThan(0.9 * j.end.sum_sent.bytes);
    expect(j.end.sum_received.seconds).toBeGreaterThan(1.9);
    expect(j.end.sum_received.seconds).toBeLessThan(3);
    expect(j.end.sum_received.bits_per_second).toBeGreaterThan(10e6);
  });

  it('reverse mode (-R): we send for 2 s, the client counts what arrives', () => {
    const j = client(['-t', '2', '-R']);
    expect(j.error).toBeUndefined();
    expect(j.start.test_start.reverse).toBe(1);
    // sum_sent is our count of bytes handed to the socket; the client received at most that.
    expect(j.end.sum_received.bytes).toBeGreaterThan(1_000_000);
    expect(j.end.sum_received.bytes).toBeLessThanOrEqual(j.end.sum_sent.bytes);
    expect(j.end.sum_received.bits_per_second).toBeGreaterThan(10e6);
  });

  it('-P 3: stream ids match the client (results are matched by id)', async () => {
    const j = client(['-t', '1', '-P', '3']);
    expect(j.error).toBeUndefined();
    expect(j.start.test_start.num_streams).toBe(3);
    expect(j.end.sum_received.bytes).toBeGreaterThan(1_000_000);
    // The server's report lines arrive through this process's event loop (spawnSync blocked it).
    const lines = (): string[] => serverJson.split('\n').filter((l) => l.startsWith('{'));
    for (let i = 0; i < 100 && lines().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const reports = lines().map((l) => JSON.parse(l) as { ok: boolean; streams: Array<{ id: number }> });
    expect(reports.map((r) => r.ok)).toEqual([true, true, true]);
    expect(reports[2]!.streams.map((s) => s.id)).toEqual([1, 3, 4]);
  });
});
