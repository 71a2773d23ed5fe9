// `npm run bench [-- --quick | --duration S | --runs N | --only REGEX | --idle N | --out FILE]`
//
// Builds the TypeScript (dist/), makes sure the system tools are there, then runs
// dist/bench/suite.js, which creates its own network namespaces and removes them on exit.
// As a last line of defence, namespaces named after the suite's pid are deleted here too
// (e.g. when the suite was killed with SIGKILL).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTools } from './ensure-tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureTools();

process.stderr.write('[bench] building (tsc)\n');
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
const suite = join(root, 'dist', 'bench', 'suite.js');
if (tsc.status !== 0) {
  const errors = (tsc.stdout.match(/error TS/g) ?? []).length;
  const benchErrors = tsc.stdout.split('\n').filter((l) => /^(bench|src\/iperf3|examples\/iperf3)/.test(l));
  if (benchErrors.length > 0) {
    process.stderr.write(`[bench] the benchmark sources do not compile:\n${benchErrors.join('\n')}\n`);
    process.exit(1);
  }
  process.stderr.write(`[bench] tsc reported ${errors} error(s) outside bench/ (emitted anyway); stack cases may fail\n`);
}
if (!existsSync(suite)) {
  process.stderr.write(`[bench] ${suite} was not built\n`);
  process.exit(1);
}

const child = spawn(process.execPath, [suite, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
const forward = (sig) => child.kill(sig);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => {
  // Namespaces are named tcpip-bench-{cli,stk}-<suite pid>-<n>: remove any the suite left behind.
  const leftovers = existsSync('/var/run/netns')
    ? readdirSync('/var/run/netns').filter((n) => new RegExp(`^tcpip-bench-(cli|stk)-${child.pid}-\\d+$`).test(n))
    : [];
  for (const ns of leftovers) {
    process.stderr.write(`[bench] removing leftover namespace ${ns}\n`);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
  process.exit(code ?? (signal !== null ? 128 : 1));
});
