/**
 * TCP counters, named like Linux's /proc/net/snmp "Tcp:" line and the TcpExt lines of
 * /proc/net/netstat, plus a few drop reasons of our own (prefixed "Drop") so that every
 * discarded segment is accounted for under a name.
 */
import { counters, type Counters } from '../core/counters.js';

export const TCP_COUNTER_NAMES = [
  // Tcp: (RFC 1213 tcp group / Linux snmp)
  'ActiveOpens',
  'PassiveOpens',
  'AttemptFails',
  'EstabResets',
  'CurrEstab',
  'InSegs',
  'OutSegs',
  'RetransSegs',
  'InErrs',
  'OutRsts',
  'InCsumErrors',
  // TcpExt:
  'SyncookiesSent',
  'SyncookiesRecv',
  'SyncookiesFailed',
  'ListenOverflows',
  'ListenDrops',
  'TCPSackRecovery',
  'TCPRenoRecovery',
  'TCPFastRetrans',
  'TCPSlowStartRetrans',
  'TCPTimeouts',
  'TCPSynRetrans',
  'TCPSACKReneging',
  'TCPChallengeACK',
  'TCPAbortOnTimeout',
  'TCPAbortOnData',
  'TCPAbortOnClose',
  'PAWSEstab',
  'TCPDSACKRecv',
  'DelayedACKs',
  'TCPWinProbe',
  'TCPKeepAlive',
  'OutOfWindowIcmps',
  'TCPOFOQueue',
  'TCPPureAcks',
  'TCPACKSkippedChallenge',
  'TCPMTUPChanges',
  'TCPTimeWaitOverflow',
  // RACK-TLP (RFC 8985): probes sent, probes that repaired a loss, segments RACK marked lost,
  // of those retransmissions (Linux TCPLostRetransmit), reordering timer expiries.
  'TCPLossProbes',
  'TCPLossProbeRecovery',
  'TCPRACKLossDetected',
  'TCPLostRetransmit',
  'TCPRACKReoTimeout',
  // Our own drop reasons (every dropped segment lands in exactly one of these or InErrs).
  'DropBadHeader',
  'DropBadOption',
  'DropBadAddress',
  'DropOutOfWindow',
  'DropNoAck',
  'DropBadAck',
  'DropSynSent',
  'DropRstIgnored',
  'DropListen',
  'DropClosed',
] as const;

export type TcpCounterName = (typeof TCP_COUNTER_NAMES)[number];
export type TcpStats = Counters<TcpCounterName>;

export function createTcpStats(): TcpStats {
  return counters(TCP_COUNTER_NAMES);
}
