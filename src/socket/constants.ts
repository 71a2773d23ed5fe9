/**
 * The numbers of the BSD socket API, with Linux values, so ported C programs read the
 * same (`socket(PF_INET, SOCK_STREAM, 0)`, `setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)`).
 */

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const PF_INET = AF_INET;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
/** May be OR'ed into the type argument of socket(), as on Linux. */
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Addresses are host-order unsigned 32-bit numbers (no htonl here). */
export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;
export const INADDR_NONE = 0xffffffff;

// Option levels and names (setsockopt/getsockopt).
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
/** Receive/send timeouts; here in milliseconds (a number), not a struct timeval. 0 = none. */
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_ACCEPTCONN = 30;

export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_INFO = 11;
export const TCP_CONGESTION = 13;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

// fcntl
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;

// send/recv flags
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;

// poll events
export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const POLLRDNORM = 0x040;
export const POLLWRNORM = 0x100;
export const POLLRDHUP = 0x2000;

/** SO_LINGER value. {l_onoff: 1, l_linger: 0} makes close() reset the connection. */
export interface Linger {
  l_onoff: number;
  l_linger: number;
}
