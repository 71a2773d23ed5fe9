// Installs the system tools the real-kernel tests, the demo and the benchmarks use
// (a fresh machine lacks even `ping`). Only runs apt-get when something is missing,
// and only as root; otherwise it prints what is missing and carries on (those tests
// then skip with a visible message).
import { execFileSync, spawnSync } from 'node:child_process';

const TOOLS = {
  ip: 'iproute2',
  ping: 'iputils-ping',
  tshark: 'tshark',
  tcpdump: 'tcpdump',
  ethtool: 'ethtool',
  iperf3: 'iperf3',
  socat: 'socat',
  nc: 'netcat-openbsd',
  gcc: 'gcc',
  tc: 'iproute2',
  nft: 'nftables',
};

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function ensureTools(verbose = true) {
  const missing = [...new Set(Object.entries(TOOLS).filter(([c]) => !have(c)).map(([, p]) => p))];
  if (missing.length === 0) return true;
  if (process.getuid?.() !== 0) {
    if (verbose) console.warn(`[tools] missing ${missing.join(' ')} and not root: real-kernel tests will skip`);
    return false;
  }
  if (verbose) console.log(`[tools] installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('sh', ['-c', 'echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections'], { env, stdio: 'ignore' });
  } catch {}
  try {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: 'ignore' });
  } catch (e) {
    console.warn(`[tools] apt-get failed: ${e.message}`);
    return false;
  }
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) ensureTools();
