/**
 * uecho_client.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 6, on this stack:
 * sends each input line as one datagram and prints the echo.
 *
 *   usage: node dist/examples/uecho_client.js <IP> <port>
 */
import { PF_INET, SOCK_DGRAM, inet_addr, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, strcmp, strlen, type Runtime } from './runtime.js';

const BUF_SIZE = 30;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf, fputs, fgets, stdin, stdout } = rt;
  let sock: number;
  // One spare byte: C writes message[str_len] = 0 even when str_len == BUF_SIZE.
  const message = new Uint8Array(BUF_SIZE + 1);
  let str_len: number;
  const serv_adr = sockaddr_in();
  const from_adr = sockaddr_in();

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

  serv_adr.addr = inet_addr(argv[1]!);
  serv_adr.port = atoi(argv[2]);

  while (true) {
    fputs('Insert message(q to quit): ', stdout);
    if ((await fgets(message, BUF_SIZE, stdin)) === null) break; // end of input quits
    if (!strcmp(message, 'q\n') || !strcmp(message, 'Q\n')) break;

    await sys.sendto(sock, message, strlen(message), 0, serv_adr);
    str_len = await sys.recvfrom(sock, message, BUF_SIZE, 0, from_adr);
    message[str_len] = 0;
    printf('Message from server: %s', message);
  }
  sys.close(sock);
  return 0;
}

run(import.meta.url, main);
