/**
 * The op_server/op_client calculator protocol against the real Linux kernel: our TS
 * op_server answers the textbook C op_client (5 clients in turn), and our TS op_client
 * asks the C op_server on the kernel. Cases: +, -, * with int32 wrap-around, negative
 * numbers, 1 operand and 100 operands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as op_client } from '../../examples/op_client.js';
import { main as op_server } from '../../examples/op_server.js';
import { interopSkipReason, TapEnv } from '../helpers/socket-tap.js';

const skip = interopSkipReason('examples/op');

interface Case {
  operands: number[];
  op: '+' | '-' | '*';
}

const CASES: Case[] = [
  { operands: [12, -7, 100], op: '+' },
  { operands: [10, 20, -5], op: '-' },
  { operands: [100000, 100000, -3], op: '*' }, // 10^10 wraps in 32 bits
  { operands: [42], op: '+' },
  { operands: Array.from({ length: 100 }, (_, i) => i + 1), op: '-' },
];

/** The expected C int result, computed with BigInt and reduced to int32. */
function expected(c: Case): number {
  let r = BigInt(c.operands[0]!);
  for (const v of c.operands.slice(1)) {
    const b = BigInt(v);
    r = c.op === '+' ? r + b : c.op === '-' ? r - b : r * b;
    r = BigInt.asIntN(32, r);
  }
  return Number(r);
}

function stdinFor(c: Case): string {
  return `${c.operands.length}\n${c.operands.join('\n')}\n${c.op}\n`;
}

describe.skipIf(skip !== undefined)('op calculator over a TAP against Linux programs', () => {
  let env: TapEnv;

  beforeAll(() => {
    env = new TapEnv('op', 62);
    env.compile(['op_client', 'op_server']);
  });
  afterAll(() => env?.close());

  it('sanity of the expectations', () => {
    expect(CASES.map(expected)).toEqual([105, -5, 64771072, 42, -5048]);
  });

  it('TS op_server answers the C op_client, 5 clients in turn', async () => {
    const server = env.runExample(op_server, ['op_server', '9191']);
    for (const c of CASES) {
      const r = await env.spawn(env.bin('op_client'), [env.stackAddr, '9191'], { input: stdinFor(c) }).done;
      expect(r.status).toBe(0);
      const prompts = c.operands.map((_, i) => `Operand ${i + 1}: `).join('');
      expect(r.stdout).toBe(`Connected...........\nOperand count: ${prompts}Operator: Operation result: ${expected(c)} \n`);
    }
    const s = await server.done;
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
  });

  it('TS op_client asks the C op_server on the kernel', async () => {
    const server = env.spawn(env.bin('op_server'), ['9291']);
    await env.waitListening('tcp', 9291);
    for (const c of CASES) {
      const r = await env.runExample(op_client, ['op_client', env.kernelAddr, '9291'], { input: stdinFor(c) }).done;
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Operator: Operation result: ${expected(c)} \\n$`));
      expect(r.stdout.startsWith('Connected...........\nOperand count: Operand 1: ')).toBe(true);
    }
    const s = await server.done; // the C server exits after 5 clients
    expect(s.status).toBe(0);
  });
});
