/**
 * The little C runtime the example programs are written against, so a port reads like
 * the C it comes from: argv, printf/puts/fputs, fgets/fgetc/scanf on stdin,
 * error_handling(), exit(), sleep(), atoi(), strlen()/strcmp() over byte buffers.
 *
 * A program is `export async function main(rt: Runtime): Promise<number>`. From the
 * command line, `run(import.meta.url, main)` builds a Runtime over process.argv/stdin/
 * stdout and a stack from the environment (TCPIP_TAP, TCPIP_ADDR, ... via
 * openStackFromEnv). Tests build one over an in-process stack and strings
 * (`createRuntime`), and get the exit code, stdout and stderr back.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SocketApi } from '../src/socket/index.js';

/** Thrown by exit()/error_handling() to end main() with a status, like C exit(). */
export class Exit extends Error {
  readonly status: number;
  /** Text for stderr before exiting (error_handling's message). */
  readonly stderrText: string;
  constructor(status: number, stderrText = '') {
    super(`exit(${status})`);
    this.status = status;
    this.stderrText = stderrText;
  }
}

/**
 * The textbook's error_handling(): print the message (and, here, the reason) to stderr
 * and exit(1). A plain function so TypeScript knows it never returns.
 */
export function error_handling(message: string, reason?: unknown): never {
  const why = reason === undefined ? '' : `  (${reason instanceof Error ? reason.message : String(reason)})\n`;
  throw new Exit(1, `${message}\n${why}`);
}

/** A byte stream to read from (stdin): C stdio input on top of chunks. */
export class Input {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private ended = false;
  private wake: (() => void) | undefined = undefined;
  /** Starts the source on first use, so a program that never reads stdin never touches it
   * (a background server reading a terminal would be stopped by SIGTTIN). */
  private start: (() => void) | undefined = undefined;

  /** Append bytes (from a stream's 'data' event or a test). */
  feed(chunk: Uint8Array): void {
    const rest = this.buf.subarray(this.pos);
    const next = new Uint8Array(rest.length + chunk.length);
    next.set(rest);
    next.set(chunk, rest.length);
    this.buf = next;
    this.pos = 0;
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  static fromReadable(r: NodeJS.ReadableStream): Input {
    const input = new Input();
    input.start = () => {
      r.on('data', (d: Buffer | string) => input.feed(typeof d === 'string' ? Buffer.from(d) : d));
      r.on('end', () => input.end());
    };
    return input;
  }

  static fromString(s: string): Input {
    const input = new Input();
    input.feed(Buffer.from(s));
    input.end();
    return input;
  }

  /** Next byte, or -1 (EOF). */
  async getc(): Promise<number> {
    if (this.start !== undefined) {
      this.start();
      this.start = undefined;
    }
    while (this.pos >= this.buf.length) {
      if (this.ended) return -1;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.buf[this.pos++]!;
  }

  ungetc(): void {
    if (this.pos > 0) this.pos--;
  }
}

export type Output = (text: string | Uint8Array) => void;

export interface Runtime {
  /** argv[0] is the program name, like C. */
  argv: string[];
  env: Record<string, string | undefined>;
  stdin: Input;
  stdout: Output;
  stderr: Output;
  /** The socket API on the stack this program runs on (opened on first call). */
  sockets(): Promise<SocketApi>;
  printf(fmt: string, ...args: unknown[]): void;
  puts(s: string): void;
  fputs(s: string, out: Output): void;
  /** fgets(buf, size, stdin): up to size-1 bytes through a newline, NUL-terminated; null at EOF. */
  fgets(buf: Uint8Array, size: number, input: Input): Promise<Uint8Array | null>;
  fgetc(input: Input): Promise<number>;
  /** scanf('%d') -> the number (NaN on no match, like a failed scanf leaving the value), scanf('%c') / scanf(' %c') -> a byte. */
  scanf(fmt: '%d' | '%c' | ' %c'): Promise<number>;
  exit(status: number): never;
  /** sleep(seconds), in real time. */
  sleep(seconds: number): Promise<void>;
}

/** C atoi: leading whitespace, optional sign, digits; 0 when none. */
export function atoi(s: string | undefined): number {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m === null ? 0 : Number.parseInt(m[1]!, 10) | 0;
}

/** Length of the NUL-terminated string in buf (buf.length when there is no NUL). */
export function strlen(buf: Uint8Array): number {
  const i = buf.indexOf(0);
  return i < 0 ? buf.length : i;
}

/** strcmp of the C string in buf with s (ASCII/UTF-8). */
export function strcmp(buf: Uint8Array, s: string): number {
  const a = Buffer.from(buf.subarray(0, strlen(buf)));
  return Buffer.compare(a, Buffer.from(s));
}

/** The C string in buf as text. */
export function cstr(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, strlen(buf)).toString();
}

/** printf subset: %d %i %u %s %c %%; %s takes a string or a NUL-terminated byte buffer. */
export function sprintf(fmt: string, ...args: unknown[]): string {
  let i = 0;
  return fmt.replace(/%([disuc%])/g, (_m, k: string) => {
    if (k === '%') return '%';
    const a = args[i++];
    switch (k) {
      case 'd':
      case 'i':
        return String(Number(a) | 0);
      case 'u':
        return String(Number(a) >>> 0);
      case 'c':
        return typeof a === 'number' ? String.fromCharCode(a) : String(a);
      default:
        return a instanceof Uint8Array ? cstr(a) : String(a);
    }
  });
}

export interface RuntimeOptions {
  argv: string[];
  env?: Record<string, string | undefined>;
  stdin?: Input;
  stdout?: Output;
  stderr?: Output;
  sockets: () => Promise<SocketApi>;
}

export function createRuntime(o: RuntimeOptions): Runtime {
  const stdout = o.stdout ?? ((t) => process.stdout.write(t));
  const stderr = o.stderr ?? ((t) => process.stderr.write(t));
  const stdin = o.stdin ?? Input.fromString('');
  const exit = (status: number): never => {
    throw new Exit(status);
  };
  const skipSpace = async (): Promise<number> => {
    let c = await stdin.getc();
    while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = await stdin.getc();
    return c;
  };
  let api: Promise<SocketApi> | undefined;
  return {
    argv: o.argv,
    env: o.env ?? {},
    stdin,
    stdout,
    stderr,
    sockets: () => (api ??= o.sockets()),
    printf: (fmt, ...args) => stdout(sprintf(fmt, ...args)),
    puts: (s) => stdout(`${s}\n`),
    fputs: (s, out) => out(s),
    fgets: async (buf, size, input) => {
      let n = 0;
      while (n < size - 1) {
        const c = await input.getc();
        if (c < 0) break;
        buf[n++] = c;
        if (c === 0x0a) break;
      }
      if (n === 0) return null;
      buf[n] = 0;
      return buf;
    },
    fgetc: (input) => input.getc(),
    scanf: async (fmt) => {
      if (fmt === '%c') return stdin.getc();
      if (fmt === ' %c') return skipSpace();
      let c = await skipSpace();
      let text = '';
      if (c === 0x2d || c === 0x2b) {
        text += String.fromCharCode(c);
        c = await stdin.getc();
      }
      while (c >= 0x30 && c <= 0x39) {
        text += String.fromCharCode(c);
        c = await stdin.getc();
      }
      if (c >= 0) stdin.ungetc();
      return /\d/.test(text) ? Number.parseInt(text, 10) | 0 : Number.NaN;
    },
    exit,
    sleep: (seconds) => new Promise((r) => setTimeout(r, seconds * 1000)),
  };
}

/** Run main() in a runtime: resolves with its exit status (an Exit or a return value). */
export async function runMain(main: (rt: Runtime) => Promise<number>, rt: Runtime): Promise<number> {
  try {
    return await main(rt);
  } catch (e) {
    if (e instanceof Exit) {
      if (e.stderrText !== '') rt.stderr(e.stderrText);
      return e.status;
    }
    rt.stderr(`${rt.argv[0] ?? 'program'}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/**
 * Command-line entry: when `moduleUrl` is the program node was started with, run main()
 * on a stack opened from the environment, let closed connections finish sending (the
 * kernel would, after a C program exits), then exit with main's status.
 */
export function run(moduleUrl: string, main: (rt: Runtime) => Promise<number>): void {
  const entry = process.argv[1];
  if (entry === undefined) return;
  let self: string;
  try {
    self = realpathSync(fileURLToPath(moduleUrl));
    if (realpathSync(entry) !== self) return;
  } catch {
    return;
  }
  const name = self.replace(/^.*\//, '').replace(/\.js$/, '');
  let stack: { close(): void } | undefined;
  let sys: SocketApi | undefined;
  const rt = createRuntime({
    argv: [name, ...process.argv.slice(2)],
    env: process.env,
    stdin: Input.fromReadable(process.stdin),
    sockets: async () => {
      const { openStackFromEnv } = await import('../src/stack.js');
      const s = await openStackFromEnv();
      stack = s;
      sys = new SocketApi({ tcp: s.tcp, udp: s.udp, clock: s.clock, localAddr: s.addr });
      return sys;
    },
  });
  void runMain(main, rt).then(async (status) => {
    if (sys !== undefined) await sys.drain(3000);
    stack?.close();
    process.exit(status);
  });
}
