/**
 * The counters of the IPv4 layer, named as Linux names them in /proc/net/snmp (Ip:, Icmp:)
 * and /proc/net/netstat (IpExt:), the names of the IP-MIB (RFC 4293) and ICMP-MIB. They
 * obey exact identities, which the fuzz tests (test/unit/fuzz-stack.test.ts) check:
 *
 *   InReceives + ReasmOKs = InHdrErrors + InTruncatedPkts + InAddrErrors + InDiscards
 *                           + ReasmReqds + InUnknownProtos + InDelivers
 *
 * (every received datagram ends in exactly one of the right-hand counters; a datagram
 * completed by reassembly ends once more, in InUnknownProtos or InDelivers), and every
 * ICMP message (Icmp InMsgs) is counted under its type (InUnknownTypes for the types we
 * do not handle) unless it is too short or fails its checksum. Icmp InErrors counts those,
 * and also typed errors we cannot use (a bad quote, a quote of someone else's datagram,
 * an error sent to a broadcast address), as Linux does.
 */
export const IP_COUNTERS = [
  'InReceives',
  'InHdrErrors',
  'InAddrErrors',
  'InUnknownProtos',
  'InDiscards',
  'InDelivers',
  'OutRequests',
  'OutDiscards',
  'OutNoRoutes',
  'OutTransmits',
  'FragOKs',
  'FragFails',
  'FragCreates',
  // IpExt-style extras.
  'InTruncatedPkts',
  'InCsumErrors',
  'InBcastPkts',
  'OutUnresolved',
] as const;

export const ICMP_COUNTERS = [
  'InMsgs',
  'InErrors',
  'InCsumErrors',
  'InDestUnreachs',
  'InTimeExcds',
  'InParmProbs',
  'InSrcQuenchs',
  'InRedirects',
  'InEchos',
  'InEchoReps',
  'InTimestamps',
  'InTimestampReps',
  'InUnknownTypes',
  'OutMsgs',
  'OutErrors',
  'OutRateLimited',
  'OutDestUnreachs',
  'OutTimeExcds',
  'OutParmProbs',
  'OutEchos',
  'OutEchoReps',
] as const;
