/**
 * bound_host1.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 6, on this stack:
 * receives 3 datagrams, sleeping 5 s before each recvfrom. The 3 messages of bound_host2
 * have all arrived by then, yet each recvfrom returns exactly one: UDP keeps boundaries.
 * BOUND_HOST_DELAY_MS overrides the 5 s (for tests).
 *
 *   usage: node dist/examples/bound_host1.js <port>
 */
import { INADDR_ANY, PF_INET, SOCK_DGRAM, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 30;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf, env } = rt;
  let sock: number;
  const message = new Uint8Array(BUF_SIZE + 1); // + a NUL, should a datagram fill the buffer
  const my_adr = sockaddr_in();
  const your_adr = sockaddr_in();
  let str_len: number, i: number;
  const delay = env['BOUND_HOST_DELAY_MS'] !== undefined ? atoi(env['BOUND_HOST_DELAY_MS']) / 1000 : 5;

  if (argv.length !== 2) {
    printf('Usage : %s <port>\n', argv[0]);
    return rt.exit(1);
  }
  const sys = await rt.sockets();

  try {
    sock = sys.socket(PF_INET, SOCK_DGRAM, 0);
  } catch (e) {
    error_handling('socket() error', e);
  }

  my_adr.addr = INADDR_ANY;
  my_adr.port = atoi(argv[1]);

  try {
    sys.bind(sock, my_adr);
  } catch (e) {
    error_handling('bind() error', e);
  }

  for (i = 0; i < 3; i++) {
    await rt.sleep(delay); // delay 5 sec.
    str_len = await sys.recvfrom(sock, message, BUF_SIZE, 0, your_adr);
    message[str_len] = 0; // the C program relies on the sender including the NUL
    printf('Message %d: %s \n', i + 1, message);
  }
  sys.close(sock);
  return 0;
}

run(import.meta.url, main);
