/**
 * setsockopt / getsockopt. Socket-level options live on the socket; TCP options are kept
 * on the socket until a connection exists (passed to connect()/listen() and inherited by
 * accepted sockets), then applied with TcpConnection.setOptions.
 */
import { Errno } from '../core/errno.js';
import type { CongestionName, TcpInfo, TcpOptions } from '../tcp/api.js';
import { DEFAULT_TCP_CONFIG } from '../tcp/config.js';
import {
  IPPROTO_TCP,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_BROADCAST,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDTIMEO,
  SO_TYPE,
  TCP_CONGESTION,
  TCP_INFO,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_NODELAY,
  type Linger,
} from './constants.js';
import { sockError } from './errno.js';
import type { Sock } from './sock.js';
import { TcpSock } from './tcp-sock.js';
import { UdpSock } from './udp-sock.js';

export type SockOptValue = number | boolean | string | Linger;
export type SockOptResult = number | string | Linger | TcpInfo;

/**
 * What getsockopt reports for a TCP option before a connection exists: the TCP layer's
 * defaults (its DEFAULT_TCP_CONFIG), which a connection made without the option gets.
 */
const TCP_DEFAULTS: Required<TcpOptions> = {
  noDelay: false,
  keepAlive: false,
  keepIdle: DEFAULT_TCP_CONFIG.keepaliveIdle,
  keepInterval: DEFAULT_TCP_CONFIG.keepaliveInterval,
  keepCount: DEFAULT_TCP_CONFIG.keepaliveCount,
  sendBufferSize: DEFAULT_TCP_CONFIG.defaultSendBuffer,
  recvBufferSize: DEFAULT_TCP_CONFIG.defaultRecvBuffer,
  maxSegment: 536,
  congestion: DEFAULT_TCP_CONFIG.defaultCongestion,
};

function toInt(v: SockOptValue, call: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  throw sockError('EINVAL', call, 'this option takes a number');
}

function positive(v: SockOptValue, call: string, max = 0x7fffffff): number {
  const n = toInt(v, call);
  if (n < 1 || n > max) throw sockError('EINVAL', call, `value must be 1..${max}`);
  return n;
}

export function setSockOpt(s: Sock, level: number, name: number, value: SockOptValue, call: string): void {
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        s.reuseAddr = toInt(value, call) !== 0;
        if (s instanceof UdpSock) s.pcb.reuseAddr = s.reuseAddr;
        return;
      case SO_RCVTIMEO:
      case SO_SNDTIMEO: {
        const ms = toInt(value, call);
        if (ms < 0) throw sockError('EINVAL', call, 'timeout must be >= 0 ms (0 = none)');
        if (name === SO_RCVTIMEO) s.rcvTimeoMs = ms;
        else s.sndTimeoMs = ms;
        return;
      }
      case SO_RCVBUF:
      case SO_SNDBUF: {
        const n = positive(value, call);
        if (s instanceof UdpSock) {
          if (name === SO_RCVBUF) s.pcb.rcvbuf = n;
          else s.sndbuf = n;
        } else if (s instanceof TcpSock) {
          setTcp(s, name === SO_RCVBUF ? { recvBufferSize: n } : { sendBufferSize: n });
        }
        return;
      }
      case SO_BROADCAST:
        if (s instanceof UdpSock) s.pcb.broadcast = toInt(value, call) !== 0;
        return;
      case SO_KEEPALIVE:
        if (s instanceof TcpSock) setTcp(s, { keepAlive: toInt(value, call) !== 0 });
        return;
      case SO_LINGER: {
        if (typeof value !== 'object' || value === null) throw sockError('EINVAL', call, 'SO_LINGER takes {l_onoff, l_linger}');
        if (s instanceof TcpSock) s.linger = { l_onoff: value.l_onoff ? 1 : 0, l_linger: Math.max(0, Math.trunc(value.l_linger)) };
        return;
      }
      case SO_TYPE:
      case SO_ERROR:
      case SO_ACCEPTCONN:
        throw sockError('ENOPROTOOPT', call, 'this option can only be read');
      default:
        throw sockError('ENOPROTOOPT', call, `unknown SOL_SOCKET option ${name}`);
    }
  }
  if (level === IPPROTO_TCP && s instanceof TcpSock) {
    switch (name) {
      case TCP_NODELAY:
        return setTcp(s, { noDelay: toInt(value, call) !== 0 });
      case TCP_KEEPIDLE:
        return setTcp(s, { keepIdle: positive(value, call, 32767) });
      case TCP_KEEPINTVL:
        return setTcp(s, { keepInterval: positive(value, call, 32767) });
      case TCP_KEEPCNT:
        return setTcp(s, { keepCount: positive(value, call, 127) });
      case TCP_MAXSEG: {
        // Linux: 88..65495 (TCP_MIN_MSS .. MAX_TCP_WINDOW); 0 means "default".
        const n = toInt(value, call);
        if (n !== 0 && (n < 88 || n > 65495)) throw sockError('EINVAL', call, 'TCP_MAXSEG must be 88..65495');
        if (n !== 0) setTcp(s, { maxSegment: n });
        return;
      }
      case TCP_CONGESTION: {
        if (value !== 'newreno' && value !== 'cubic' && value !== 'reno') {
          throw sockError('ENOENT', call, "TCP_CONGESTION is 'newreno' or 'cubic'");
        }
        const cc: CongestionName = value === 'cubic' ? 'cubic' : 'newreno';
        return setTcp(s, { congestion: cc });
      }
      case TCP_INFO:
        throw sockError('ENOPROTOOPT', call, 'TCP_INFO can only be read');
      default:
        throw sockError('ENOPROTOOPT', call, `unknown IPPROTO_TCP option ${name}`);
    }
  }
  throw sockError('ENOPROTOOPT', call, `option level ${level} does not apply to this socket`);
}

function setTcp(s: TcpSock, o: TcpOptions): void {
  s.tcpOpts = { ...s.tcpOpts, ...o };
  s.conn?.setOptions(o);
}

function tcpOpt<K extends keyof TcpOptions>(s: TcpSock, k: K): Required<TcpOptions>[K] {
  if (s.conn !== undefined) return s.conn.options[k];
  return (s.tcpOpts[k] ?? TCP_DEFAULTS[k]) as Required<TcpOptions>[K];
}

export function getSockOpt(s: Sock, level: number, name: number, call: string): SockOptResult {
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_TYPE:
        return s.type;
      case SO_ERROR: {
        const e = s instanceof TcpSock || s instanceof UdpSock ? s.takeError() : undefined;
        return e === undefined ? 0 : Errno[e];
      }
      case SO_REUSEADDR:
        return s.reuseAddr ? 1 : 0;
      case SO_RCVTIMEO:
        return s.rcvTimeoMs;
      case SO_SNDTIMEO:
        return s.sndTimeoMs;
      case SO_ACCEPTCONN:
        return s instanceof TcpSock && s.phase === 'listening' ? 1 : 0;
      case SO_BROADCAST:
        return s instanceof UdpSock && s.pcb.broadcast ? 1 : 0;
      case SO_RCVBUF:
        if (s instanceof UdpSock) return s.pcb.rcvbuf;
        return tcpOpt(s as TcpSock, 'recvBufferSize');
      case SO_SNDBUF:
        if (s instanceof UdpSock) return s.sndbuf;
        return tcpOpt(s as TcpSock, 'sendBufferSize');
      case SO_KEEPALIVE:
        return s instanceof TcpSock && tcpOpt(s, 'keepAlive') ? 1 : 0;
      case SO_LINGER:
        return s instanceof TcpSock ? { ...s.linger } : { l_onoff: 0, l_linger: 0 };
      default:
        throw sockError('ENOPROTOOPT', call, `unknown SOL_SOCKET option ${name}`);
    }
  }
  if (level === IPPROTO_TCP && s instanceof TcpSock) {
    switch (name) {
      case TCP_NODELAY:
        return tcpOpt(s, 'noDelay') ? 1 : 0;
      case TCP_KEEPIDLE:
        return tcpOpt(s, 'keepIdle');
      case TCP_KEEPINTVL:
        return tcpOpt(s, 'keepInterval');
      case TCP_KEEPCNT:
        return tcpOpt(s, 'keepCount');
      case TCP_MAXSEG:
        return s.conn !== undefined ? s.conn.info().mss : tcpOpt(s, 'maxSegment');
      case TCP_CONGESTION:
        return tcpOpt(s, 'congestion');
      case TCP_INFO:
        if (s.conn === undefined) throw sockError('ENOTCONN', call, 'TCP_INFO needs a connection');
        return s.conn.info();
      default:
        throw sockError('ENOPROTOOPT', call, `unknown IPPROTO_TCP option ${name}`);
    }
  }
  throw sockError('ENOPROTOOPT', call, `option level ${level} does not apply to this socket`);
}
