/**
 * errno for the socket API: Linux strerror() texts and the helper that builds the
 * StackError every socket call throws, so a message names the call, the descriptor, the
 * errno, what it means, and (where useful) what to do about it:
 *
 *   EADDRINUSE: bind(fd 3, 0.0.0.0:9190): Address already in use (another socket holds the port)
 */
import { Errno, StackError, type ErrnoName } from '../core/errno.js';

export { Errno, StackError, isStackError, type ErrnoName } from '../core/errno.js';

const STRERROR: { [K in ErrnoName]?: string } = {
  EPERM: 'Operation not permitted',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files',
  EPIPE: 'Broken pipe',
  ENOPROTOOPT: 'Protocol not available',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ECONNABORTED: 'Software caused connection abort',
  ECONNRESET: 'Connection reset by peer',
  ENOBUFS: 'No buffer space available',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  ESHUTDOWN: 'Cannot send after transport endpoint shutdown',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTDOWN: 'Host is down',
  EHOSTUNREACH: 'No route to host',
  EALREADY: 'Operation already in progress',
  EINPROGRESS: 'Operation now in progress',
  EMSGSIZE: 'Message too long',
  EDESTADDRREQ: 'Destination address required',
  ENOTSOCK: 'Socket operation on non-socket',
  EPROTOTYPE: 'Protocol wrong type for socket',
};

/** The Linux strerror() text for an errno name. */
export function strerror(code: ErrnoName): string {
  return STRERROR[code] ?? code;
}

/** The errno name for a number (e.g. the value getsockopt(SO_ERROR) returns), or undefined. */
export function errnoName(n: number): ErrnoName | undefined {
  for (const k of Object.keys(Errno) as ErrnoName[]) if (Errno[k] === n) return k;
  return undefined;
}

/** A StackError for a socket call: `CODE: call: strerror (hint)`. */
export function sockError(code: ErrnoName, call: string, hint?: string): StackError {
  return new StackError(code, `${call}: ${strerror(code)}${hint === undefined ? '' : ` (${hint})`}`);
}
