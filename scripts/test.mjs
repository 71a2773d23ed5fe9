// `npm test`: make sure the system tools are there, then run the whole vitest suite.
import { spawnSync } from 'node:child_process';
import { ensureTools } from './ensure-tools.mjs';

ensureTools();
const r = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
