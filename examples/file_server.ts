/**
 * file_server_win.c / file_server.c from "TCP/IP Socket Programming" (Yoon Sung-woo),
 * chapter 7, on this stack: sends a file, half-closes with shutdown(SHUT_WR), and still
 * reads the client's "Thank you" after that. The file is an argument here (the textbook
 * sends its own source, file_server.c).
 *
 *   usage: node dist/examples/file_server.js <port> <file>
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { INADDR_ANY, PF_INET, SHUT_WR, SOCK_STREAM, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 30;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf } = rt;
  let serv_sd: number, clnt_sd: number;
  let fp: number;
  const buf = new Uint8Array(BUF_SIZE + 1); // + a NUL for printing "%s"
  let read_cnt: number;
  const serv_adr = sockaddr_in();
  const clnt_adr = sockaddr_in();

  if (argv.length !== 3) {
    printf('Usage: %s <port> <file>\n', argv[0]);
    return rt.exit(1);
  }
  try {
    fp = openSync(argv[2]!, 'r'); // fopen(argv[2], "rb")
  } catch (e) {
    error_handling('fopen() error', e);
  }
  const sys = await rt.sockets();
  serv_sd = sys.socket(PF_INET, SOCK_STREAM, 0);

  serv_adr.addr = INADDR_ANY;
  serv_adr.port = atoi(argv[1]);

  try {
    sys.bind(serv_sd, serv_adr);
    sys.listen(serv_sd, 5);
  } catch (e) {
    error_handling('bind() or listen() error', e);
  }

  clnt_sd = await sys.accept(serv_sd, clnt_adr);

  while (true) {
    read_cnt = readSync(fp, buf, 0, BUF_SIZE, null); // fread((void*)buf, 1, BUF_SIZE, fp)
    if (read_cnt < BUF_SIZE) {
      await sys.write(clnt_sd, buf, read_cnt);
      break;
    }
    await sys.write(clnt_sd, buf, BUF_SIZE);
  }

  sys.shutdown(clnt_sd, SHUT_WR);
  const n = await sys.read(clnt_sd, buf, BUF_SIZE);
  buf[n] = 0;
  printf('Message from client: %s \n', buf);

  closeSync(fp);
  sys.close(clnt_sd);
  sys.close(serv_sd);
  return 0;
}

run(import.meta.url, main);
