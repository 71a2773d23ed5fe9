/** The socket layer: the BSD API (SocketApi), its constants and errors, and the Node stream adapter. */
export * from './constants.js';
export { SocketApi, inet_addr, inet_ntoa, sockaddr_in, type SockAddr, type SockAddrIn, type SocketApiOptions } from './bsd.js';
export { errnoName, sockError, strerror, StackError, isStackError, type ErrnoName } from './errno.js';
export { FdSet, FD_CLR, FD_ISSET, FD_SET, FD_ZERO, type PollFd } from './poll.js';
export type { SockOptResult, SockOptValue } from './options.js';
export {
  Net,
  Server,
  TcpSocket,
  createNet,
  type AddressInfo,
  type ConnectOptions,
  type ListenOptions,
  type NetContext,
  type ServerOptions,
  type TcpSocketOptions,
} from './stream.js';
