/**
 * echo_server.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 4, on this stack:
 * an iterative echo server. It serves 5 clients one after another, echoing each until EOF.
 *
 *   usage: node dist/examples/echo_server.js <port>     (stack from TCPIP_TAP/TCPIP_ADDR...)
 */
import { INADDR_ANY, PF_INET, SOCK_STREAM, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 1024;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf } = rt;
  let serv_sock: number, clnt_sock: number;
  const message = new Uint8Array(BUF_SIZE);
  let str_len: number, i: number;

  const serv_adr = sockaddr_in();
  const clnt_adr = sockaddr_in();

  if (argv.length !== 2) {
    printf('Usage : %s <port>\n', argv[0]);
    return rt.exit(1);
  }
  const sys = await rt.sockets();

  try {
    serv_sock = sys.socket(PF_INET, SOCK_STREAM, 0);
  } catch (e) {
    error_handling('socket() error', e);
  }

  // memset(&serv_adr, 0, sizeof(serv_adr)) is sockaddr_in(); addresses are host order (no htonl/htons).
  serv_adr.addr = INADDR_ANY;
  serv_adr.port = atoi(argv[1]);

  try {
    sys.bind(serv_sock, serv_adr);
  } catch (e) {
    error_handling('bind() error', e);
  }
  try {
    sys.listen(serv_sock, 5);
  } catch (e) {
    error_handling('listen() error', e);
  }

  for (i = 0; i < 5; i++) {
    try {
      clnt_sock = await sys.accept(serv_sock, clnt_adr);
      printf('Connected client %d \n', i + 1);
    } catch (e) {
      error_handling('accept() error', e);
    }

    while ((str_len = await sys.read(clnt_sock, message, BUF_SIZE)) !== 0) await sys.write(clnt_sock, message, str_len);

    sys.close(clnt_sock);
  }
  sys.close(serv_sock);
  return 0;
}

run(import.meta.url, main);
