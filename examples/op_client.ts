/**
 * op_client.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 5, on this stack:
 * asks for the operands and the operator, sends them in one message, prints the result.
 *
 *   usage: node dist/examples/op_client.js <IP> <port>
 */
import { PF_INET, SOCK_STREAM, inet_addr, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 1024;
const RLT_SIZE = 4;
const OPSZ = 4;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf, puts, fputs, fgetc, scanf, stdin, stdout } = rt;
  let sock: number;
  const opmsg = new Uint8Array(BUF_SIZE);
  const opview = new DataView(opmsg.buffer);
  const result = new Uint8Array(RLT_SIZE);
  let opnd_cnt: number, i: number;
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

  fputs('Operand count: ', stdout);
  opnd_cnt = await scanf('%d');
  if (Number.isNaN(opnd_cnt)) error_handling('scanf() error', 'expected a number');
  opmsg[0] = opnd_cnt & 0xff; // (char)opnd_cnt

  for (i = 0; i < opnd_cnt; i++) {
    printf('Operand %d: ', i + 1);
    opview.setInt32(i * OPSZ + 1, await scanf('%d'), true); // scanf("%d", (int*)&opmsg[i*OPSZ+1])
  }
  await fgetc(stdin);
  fputs('Operator: ', stdout);
  opmsg[opnd_cnt * OPSZ + 1] = await scanf('%c');
  await sys.write(sock, opmsg, opnd_cnt * OPSZ + 2);
  await sys.read(sock, result, RLT_SIZE);

  printf('Operation result: %d \n', new DataView(result.buffer).getInt32(0, true));
  sys.close(sock);
  return 0;
}

run(import.meta.url, main);
