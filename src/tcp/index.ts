/** The TCP engine: TcpLayer (TcpService + IpProtocolHandler) and its building blocks. */
export { TcpLayer, type TcpLayerInit } from './layer.js';
export { DEFAULT_TCP_CONFIG, type TcpConfig, type SyncookieMode } from './config.js';
export { TCP_COUNTER_NAMES, type TcpStats, type TcpCounterName } from './stats.js';
export type { Connection } from './connection.js';
export type { Listener } from './listener.js';
export { SendBuffer } from './send-buffer.js';
export {
  TcpHeaderView,
  Segment,
  OptionsOut,
  TcpFlag,
  TcpOptionKind,
  decodeSegment,
  writeHeader,
  writeOptions,
  setChecksum,
  flagsToString,
  TCP_HEADER_LEN,
} from './header.js';
export type * from './api.js';
