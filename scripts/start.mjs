// `npm start`: the demo. Installs the system tools if missing, builds if needed, then runs
// `tcpip demo`: a network namespace with a TAP, the stack on it, the demo servers, and
// instructions; Ctrl-C removes the namespace.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureTools } from './ensure-tools.mjs';

// Ctrl-C reaches the demo too (same process group); it cleans up, we just wait for it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
ensureTools();
if (!existsSync('dist/src/cli/main.js') || !existsSync('build/Release/tap.node')) {
  const b = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'demo', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
