/**
 * file_client.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 7, on this stack:
 * receives a file into receive.dat until EOF, then still sends "Thank you" on the
 * half-closed connection. FILE_CLIENT_OUT overrides the output path (for tests).
 *
 *   usage: node dist/examples/file_client.js <IP> <port>
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { PF_INET, SOCK_STREAM, inet_addr, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 30;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf, puts, env } = rt;
  let sd: number;
  let fp: number;
  const buf = new Uint8Array(BUF_SIZE);
  let read_cnt: number;
  const serv_adr = sockaddr_in();

  if (argv.length !== 3) {
    printf('Usage: %s <IP> <port>\n', argv[0]);
    return rt.exit(1);
  }

  try {
    fp = openSync(env['FILE_CLIENT_OUT'] ?? 'receive.dat', 'w'); // fopen("receive.dat", "wb")
  } catch (e) {
    error_handling('fopen() error', e);
  }
  const sys = await rt.sockets();
  sd = sys.socket(PF_INET, SOCK_STREAM, 0);

  serv_adr.addr = inet_addr(argv[1]!);
  serv_adr.port = atoi(argv[2]);

  try {
    await sys.connect(sd, serv_adr);
  } catch (e) {
    error_handling('connect() error', e);
  }

  while ((read_cnt = await sys.read(sd, buf, BUF_SIZE)) !== 0) writeSync(fp, buf, 0, read_cnt);

  puts('Received file data');
  await sys.write(sd, Buffer.from('Thank you\0'), 10);
  closeSync(fp);
  sys.close(sd);
  return 0;
}

run(import.meta.url, main);
