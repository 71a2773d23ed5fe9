/**
 * bound_host2.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 6, on this stack:
 * sends 3 datagrams (each with its terminating NUL, sizeof(msg) in C) to bound_host1.
 *
 *   usage: node dist/examples/bound_host2.js <IP> <port>
 */
import { PF_INET, SOCK_DGRAM, inet_addr, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

/** char msg[] = "..."; sizeof(msg) counts the NUL. */
function cstring(s: string): Uint8Array {
  return Buffer.from(`${s}\0`);
}

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf } = rt;
  let sock: number;
  const msg1 = cstring('Hi!');
  const msg2 = cstring("I'm another UDP host!");
  const msg3 = cstring('Nice to meet you');
  const your_adr = sockaddr_in();

  if (argv.length !== 3) {
    printf('Usage : %s <IP> <port>\n', argv[0]);
    return rt.exit(1);
  }
  const sys = await rt.sockets();

  try {
    sock = sys.socket(PF_INET, SOCK_DGRAM, 0);
  } catch (e) {
    error_handling('socket() error', e);
  }

  your_adr.addr = inet_addr(argv[1]!);
  your_adr.port = atoi(argv[2]);

  await sys.sendto(sock, msg1, msg1.length, 0, your_adr);
  await sys.sendto(sock, msg2, msg2.length, 0, your_adr);
  await sys.sendto(sock, msg3, msg3.length, 0, your_adr);
  sys.close(sock);
  return 0;
}

run(import.meta.url, main);
