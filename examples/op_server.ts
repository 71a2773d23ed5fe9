/**
 * op_server.c from "TCP/IP Socket Programming" (Yoon Sung-woo), chapter 5, on this stack:
 * the calculator server. A client sends 1 byte operand count, that many 4-byte
 * little-endian int32 operands and 1 operator byte ('+', '-', '*'); the server answers
 * with the 4-byte little-endian int32 result (wrapping like C int). 5 clients in turn.
 *
 *   usage: node dist/examples/op_server.js <port>
 */
import { INADDR_ANY, PF_INET, SOCK_STREAM, sockaddr_in } from '../src/socket/index.js';
import { atoi, error_handling, run, type Runtime } from './runtime.js';

const BUF_SIZE = 1024;
const OPSZ = 4;

export async function main(rt: Runtime): Promise<number> {
  const { argv, printf } = rt;
  let serv_sock: number, clnt_sock: number;
  const opinfo = new Uint8Array(BUF_SIZE);
  const opnd_cnt_buf = new Uint8Array(1);
  let result: number, opnd_cnt: number, i: number;
  let recv_cnt: number, recv_len: number;
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
    opnd_cnt = 0;
    clnt_sock = await sys.accept(serv_sock, clnt_adr);
    // read(clnt_sock, &opnd_cnt, 1): one byte into the low byte of a zeroed int.
    if ((await sys.read(clnt_sock, opnd_cnt_buf, 1)) === 1) opnd_cnt = opnd_cnt_buf[0]!;

    recv_len = 0;
    while (opnd_cnt * OPSZ + 1 > recv_len) {
      recv_cnt = await sys.read(clnt_sock, opinfo.subarray(recv_len), BUF_SIZE - 1);
      if (recv_cnt === 0) break; // the C loop would spin forever on a client that leaves early
      recv_len += recv_cnt;
    }
    result = calculate(opnd_cnt, new DataView(opinfo.buffer), opinfo[recv_len - 1]!);
    const out = new DataView(new ArrayBuffer(4));
    out.setInt32(0, result, true); // the int in memory, little-endian like x86
    await sys.write(clnt_sock, new Uint8Array(out.buffer), 4);
    sys.close(clnt_sock);
  }
  sys.close(serv_sock);
  return 0;
}

/** int calculate(int opnum, int opnds[], char op): C int arithmetic wraps at 32 bits. */
function calculate(opnum: number, opnds: DataView, op: number): number {
  const opnd = (k: number): number => opnds.getInt32(k * OPSZ, true);
  let result = opnd(0);
  let i: number;
  switch (String.fromCharCode(op)) {
    case '+':
      for (i = 1; i < opnum; i++) result = (result + opnd(i)) | 0;
      break;
    case '-':
      for (i = 1; i < opnum; i++) result = (result - opnd(i)) | 0;
      break;
    case '*':
      for (i = 1; i < opnum; i++) result = Math.imul(result, opnd(i));
      break;
  }
  return result;
}

run(import.meta.url, main);
