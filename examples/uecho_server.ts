/**
 * uecho_server.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 6, on this stack:
 * a UDP echo server; it answers every datagram to its sender, forever.
 *
 *   usage: node dist/examples/uecho_server.js <port>
 */
import { INADDR_ANY, PF_INET, SOCK_DGRAM, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 30;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf } = rt;
  let serv_sock: number;
  const message = new Uint8Array(BUF_SIZE);
  let str_len: number;
  const serv_adr = sockaddr_in();
  const clnt_adr = sockaddr_in();

  if (argv.length !== 2) {
    printf('Usage : %s <port>\n', argv[0]);
    return rt.exit(1);
  }
  const sys = await rt.sockets();

  try {
    serv_sock = sys.socket(PF_INET, SOCK_DGRAM, 0);
  } catch (e) {
    error_handling('UDP socket creation error', e);
  }

  serv_adr.addr = INADDR_ANY;
  serv_adr.port = atoi(argv[1]);

  try {
    sys.bind(serv_sock, serv_adr);
  } catch (e) {
    error_handling('bind() error', e);
  }

  while (true) {
    str_len = await sys.recvfrom(serv_sock, message, BUF_SIZE, 0, clnt_adr);
    await sys.sendto(serv_sock, message, str_len, 0, clnt_adr);
  }
}

run(import.meta.url, main);
