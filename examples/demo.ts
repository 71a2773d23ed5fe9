/**
 * The demo behind `npm start`: one stack serves, concurrently, each service as its own
 * async loop (no threads, no fork: a blocked accept/read only suspends its own loop):
 *   - TCP echo on ports 7 and 9190 (echo_server.c, but every client at once);
 *   - the op_server.c calculator on TCP 9191;
 *   - UDP echo on 9192 (uecho_server.c).
 * `tcpip demo` (npm start) calls startDemo() on the stack it opened; run directly
 * (`TCPIP_NETNS=tcpip node dist/examples/demo.js`, after `tcpip net up`) it opens the
 * stack from the environment, serves until Ctrl-C, then closes every socket and lets
 * the last FINs out.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INADDR_ANY, PF_INET, SOCK_DGRAM, SOCK_STREAM, SocketApi, inet_ntoa, sockaddr_in } from '../src/socket/index.js';
import type { Stack } from '../src/stack.js';

export const ECHO_PORTS = [7, 9190] as const;
export const OP_PORT = 9191;
export const UECHO_PORT = 9192;
const BUF_SIZE = 1024;
const OPSZ = 4;

type Log = (line: string) => void;

/** Start every service on `sys`; resolves when all loops have ended (their sockets closed). */
export function serveDemo(sys: SocketApi, log: Log): Promise<unknown> {
  const loops: Promise<void>[] = [];
  for (const port of ECHO_PORTS) loops.push(tcpServer(sys, port, 'echo', echoClient, log));
  loops.push(tcpServer(sys, OP_PORT, 'op', opClient, log));
  loops.push(udpEcho(sys, UECHO_PORT, log));
  return Promise.allSettled(loops);
}

async function tcpServer(
  sys: SocketApi,
  port: number,
  name: string,
  serve: (sys: SocketApi, sock: number) => Promise<void>,
  log: Log,
): Promise<void> {
  const serv_sock = sys.socket(PF_INET, SOCK_STREAM, 0);
  sys.bind(serv_sock, { addr: INADDR_ANY, port });
  sys.listen(serv_sock, 16);
  const clnt_adr = sockaddr_in();
  for (;;) {
    let clnt_sock: number;
    try {
      clnt_sock = await sys.accept(serv_sock, clnt_adr);
    } catch {
      return; // the listening socket was closed: shutting down
    }
    const who = `${inet_ntoa(clnt_adr.addr)}:${clnt_adr.port}`;
    log(`[${name}:${port}] connection from ${who}`);
    // Each client in its own task: the accept loop goes on at once.
    void serve(sys, clnt_sock)
      .catch((e: unknown) => log(`[${name}:${port}] ${who}: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        try {
          sys.close(clnt_sock);
        } catch {
          // already closed by shutdown
        }
        log(`[${name}:${port}] ${who} closed`);
      });
  }
}

async function echoClient(sys: SocketApi, sock: number): Promise<void> {
  const message = new Uint8Array(BUF_SIZE);
  let str_len: number;
  while ((str_len = await sys.read(sock, message, BUF_SIZE)) !== 0) await sys.write(sock, message, str_len);
}

/** The op_server.c protocol: count byte, count int32 LE operands, operator byte -> int32 LE result. */
async function opClient(sys: SocketApi, sock: number): Promise<void> {
  const opinfo = new Uint8Array(BUF_SIZE);
  if ((await sys.recv(sock, opinfo, 1)) !== 1) return;
  const opnd_cnt = opinfo[0]!;
  const need = opnd_cnt * OPSZ + 1;
  let recv_len = 0;
  while (recv_len < need) {
    const n = await sys.read(sock, opinfo.subarray(recv_len), need - recv_len);
    if (n === 0) return;
    recv_len += n;
  }
  const dv = new DataView(opinfo.buffer);
  const op = String.fromCharCode(opinfo[need - 1]!);
  let result = opnd_cnt > 0 ? dv.getInt32(0, true) : 0;
  for (let i = 1; i < opnd_cnt; i++) {
    const v = dv.getInt32(i * OPSZ, true);
    if (op === '+') result = (result + v) | 0;
    else if (op === '-') result = (result - v) | 0;
    else if (op === '*') result = Math.imul(result, v);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, result, true);
  await sys.write(sock, out);
}

async function udpEcho(sys: SocketApi, port: number, log: Log): Promise<void> {
  const serv_sock = sys.socket(PF_INET, SOCK_DGRAM, 0);
  sys.bind(serv_sock, { addr: INADDR_ANY, port });
  const message = new Uint8Array(65507);
  const clnt_adr = sockaddr_in();
  for (;;) {
    let str_len: number;
    try {
      str_len = await sys.recvfrom(serv_sock, message, message.length, 0, clnt_adr);
    } catch {
      return;
    }
    await sys.sendto(serv_sock, message, str_len, 0, clnt_adr).catch((e: unknown) => log(`[uecho:${port}] ${String(e)}`));
  }
}

/** How to reach the services from the namespace. */
function instructions(me: string, ns: string): string[] {
  const inNs = `ip netns exec ${ns}`;
  return [
    `  TCP echo (ports ${ECHO_PORTS.join(', ')}):   ${inNs} nc ${me} 9190`,
    `  op calculator (TCP ${OP_PORT}):  gcc -o /tmp/op_client test/examples/c/op_client.c && ${inNs} /tmp/op_client ${me} ${OP_PORT}`,
    `  UDP echo (port ${UECHO_PORT}):        ${inNs} nc -u ${me} ${UECHO_PORT}`,
  ];
}

/**
 * For `tcpip demo` (src/cli/main.ts): start the services on an open stack, print how to
 * reach them, and return the function that stops them (closes every socket).
 */
export async function startDemo(stack: Stack, plan: { netns: string; kernelAddr: string }): Promise<() => void> {
  const sys = new SocketApi({ tcp: stack.tcp, udp: stack.udp, clock: stack.clock, localAddr: stack.addr });
  const log: Log = (line) => process.stdout.write(`${line}\n`);
  void serveDemo(sys, log);
  log(`demo services on ${inet_ntoa(stack.addr)} (reach them from the kernel side, ${plan.kernelAddr}):`);
  for (const l of instructions(inet_ntoa(stack.addr), plan.netns)) log(l);
  return () => void sys.drain(1000);
}

/** Run directly (`node dist/examples/demo.js`) on the stack the environment names. */
async function cli(): Promise<void> {
  const { configFromEnv, openStackFromEnv } = await import('../src/stack.js');
  const cfg = configFromEnv();
  const stack = await openStackFromEnv();
  const sys = new SocketApi({ tcp: stack.tcp, udp: stack.udp, clock: stack.clock, localAddr: stack.addr });
  const me = inet_ntoa(stack.addr);
  const log: Log = (line) => process.stdout.write(`${line}\n`);
  const done = serveDemo(sys, log);
  log(`tcpip demo: stack ${me} on ${cfg.tap}${cfg.netns !== undefined ? ` (namespace ${cfg.netns})` : ''}`);
  for (const l of instructions(me, cfg.netns ?? 'tcpip')) log(l);
  log('Ctrl-C to stop.');
  const stop = async (): Promise<void> => {
    log('\nstopping: closing sockets');
    await sys.drain(2000);
    await done;
    stack.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) void cli();
