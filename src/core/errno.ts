/**
 * errno-style errors. Every failure the stack reports to a caller is a StackError with a
 * Linux errno name and number and a message a person can act on.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  EPIPE: 32,
  ENOSYS: 38,
  ENONET: 64,
  EPROTO: 71,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  EMSGSIZE: 90,
  EDESTADDRREQ: 89,
  ENOTSOCK: 88,
  EPROTOTYPE: 91,
} as const;

export type ErrnoName = keyof typeof Errno;

export class StackError extends Error {
  readonly code: ErrnoName;
  readonly errno: number;

  constructor(code: ErrnoName, message?: string) {
    super(message === undefined ? code : `${code}: ${message}`);
    this.name = 'StackError';
    this.code = code;
    this.errno = Errno[code];
  }
}

export function isStackError(e: unknown, code?: ErrnoName): e is StackError {
  return e instanceof StackError && (code === undefined || e.code === code);
}
