/**
 * echo_client.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 5 (the fixed
 * version that reads until the whole echo is back), on this stack.
 *
 *   usage: node dist/examples/echo_client.js <IP> <port>
 */
import { PF_INET, SOCK_STREAM, inet_addr, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, strcmp, strlen, type Runtime } from './runtime.js';

const BUF_SIZE = 1024;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf, puts, fputs, fgets, stdin, stdout } = rt;
  let sock: number;
  const message = new Uint8Array(BUF_SIZE);
  let str_len: number, recv_len: number, recv_cnt: number;
  const serv_adr = sockaddr_in();

  if (argv.length !== 3) {
    printf('Usage : %s <IP> <port>\n', argv[0]);
    return rt.exit(1);
  }
  const sys = await rt.sockets();

  try {
    sock = sys.socket(PF_INET, SOCK_STREAM, 0);
  } catch (e) {
    error_handling('socket() error', e);
  }

  serv_adr.addr = inet_addr(argv[1]!);
  serv_adr.port = atoi(argv[2]);

  try {
    await sys.connect(sock, serv_adr);
    puts('Connected...........');
  } catch (e) {
    error_handling('connect() error!', e);
  }

  while (true) {
    fputs('Input message(Q to quit): ', stdout);
    // At end of input C's fgets leaves the buffer as it was and the loop sends it again
    // forever; here end of input quits like "Q".
    if ((await fgets(message, BUF_SIZE, stdin)) === null) break;

    if (!strcmp(message, 'q\n') || !strcmp(message, 'Q\n')) break;

    str_len = await sys.write(sock, message, strlen(message));

    recv_len = 0;
    while (recv_len < str_len) {
      try {
        recv_cnt = await sys.read(sock, message.subarray(recv_len), BUF_SIZE - 1);
      } catch (e) {
        error_handling('read() error!', e);
      }
      // A C read() of 0 (server gone) would spin here forever; stop instead.
      if (recv_cnt === 0) error_handling('read() error!', 'connection closed by the server');
      recv_len += recv_cnt;
    }
    message[recv_len] = 0;
    printf('Message from server: %s', message);
  }
  sys.close(sock);
  return 0;
}

run(import.meta.url, main);
