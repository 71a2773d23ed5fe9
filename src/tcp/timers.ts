/**
 * Timer handlers. Each connection has four logical timers, created once and re-armed:
 *   rtxTimer    retransmission (RFC 6298) or, with nothing in flight and a closed window,
 *               the persist timer (RFC 9293 3.8.6.1) — never both, as in Linux;
 *   lossTimer   RACK's reordering timer and TLP's probe timeout (RFC 8985), SACK only;
 *   delackTimer the delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2);
 *   keepTimer   keepalive (RFC 9293 3.8.4), the orphaned FIN-WAIT-2 timeout, TIME-WAIT.
 * They are SubTimers sharing ONE clock Timer per connection, armed for the earliest of them
 * (a connection costs one entry in the clock's heap, not four: memory per connection), and
 * only while one of them is armed.
 */
import type { Timer } from '../core/clock.js';
import { seqDiff, seqGt } from '../core/seq.js';
import { canSendData, type Connection } from './connection.js';
import {
  armPersist,
  maxPayload,
  output,
  retransmit,
  sendAckNow,
  sendProbe,
  sendSegment,
  sendSyn,
} from './output.js';
import { seqAdd } from '../core/seq.js';

/**
 * One of a connection's logical timers, with the Timer contract. Arming it arms the
 * connection's clock Timer only when it becomes the earliest; cancelling the earliest moves
 * the clock Timer to the next one (or cancels it).
 */
export class SubTimer implements Timer {
  deadline: number | undefined = undefined;
  private readonly c: Connection;

  constructor(c: Connection) {
    this.c = c;
  }

  arm(deadline: number): void {
    if (this.deadline === deadline) return;
    this.deadline = deadline;
    syncClockTimer(this.c);
  }

  cancel(): void {
    if (this.deadline === undefined) return;
    this.deadline = undefined;
    syncClockTimer(this.c);
  }
}

/** Earliest armed sub-timer deadline (undefined when none). */
function earliest(c: Connection): number | undefined {
  let d = c.rtxTimer.deadline;
  const l = c.lossTimer.deadline;
  if (l !== undefined && (d === undefined || l < d)) d = l;
  const a = c.delackTimer.deadline;
  if (a !== undefined && (d === undefined || a < d)) d = a;
  const k = c.keepTimer.deadline;
  if (k !== undefined && (d === undefined || k < d)) d = k;
  return d;
}

/**
 * Arm the clock Timer for the earliest sub-timer (deferred while they fire). With none armed
 * the Timer is cancelled and dropped, and made again for the next arm: an idle connection
 * (most of a server's) holds no Timer, closure or context (memory per connection).
 */
function syncClockTimer(c: Connection): void {
  if (c.timersFiring) return;
  const d = earliest(c);
  const t = c.clockTimer;
  if (d === undefined) {
    if (t !== undefined) {
      t.cancel();
      c.clockTimer = undefined;
    }
  } else if (t === undefined) {
    const made = c.ctx.clock.createTimer(() => onClockTimer(c));
    c.clockTimer = made;
    made.arm(d);
  } else if (t.deadline !== d) {
    t.arm(d);
  }
}

/**
 * The connection's clock Timer expired: run the due sub-timers, earliest first (ties: the
 * RACK/TLP timer, retransmission, delayed ACK, keepalive — a PTO clamped to the RTO's
 * expiry probes instead of timing out, RFC 8985 7.2), then re-arm for what is left and
 * deliver events.
 */
export function onClockTimer(c: Connection): void {
  if (c.state === 'CLOSED') return;
  const now = c.ctx.clock.now();
  c.timersFiring = true;
  try {
    // Bounded: each round disarms one due timer; a handler re-arms only for later times.
    for (let i = 0; i < 8; i++) {
      let t = due(c.lossTimer, undefined, now);
      t = due(c.rtxTimer, t, now);
      t = due(c.delackTimer, t, now);
      t = due(c.keepTimer, t, now);
      if (t === undefined) break;
      t.deadline = undefined;
      if (t === c.rtxTimer) onRtxTimer(c);
      else if (t === c.lossTimer) onLossTimer(c);
      else if (t === c.delackTimer) onDelackTimer(c);
      else onKeepTimer(c);
      if (isClosed(c)) break;
    }
  } finally {
    c.timersFiring = false;
  }
  syncClockTimer(c);
  c.flushEvents();
}

/** `s` if it is due by `now` and earlier than `best` (ties keep `best`), else `best`. */
function due(s: SubTimer, best: SubTimer | undefined, now: number): SubTimer | undefined {
  const d = s.deadline;
  if (d === undefined || d > now) return best;
  return best === undefined || d < best.deadline! ? s : best;
}

/** State check that TypeScript does not narrow away (handlers change the state). */
function isClosed(c: Connection): boolean {
  return c.state === 'CLOSED';
}

export function cancelAllTimers(c: Connection): void {
  c.rtxTimer.cancel();
  c.lossTimer.cancel();
  c.delackTimer.cancel();
  c.keepTimer.cancel();
}

/**
 * RACK's reordering timer or TLP's probe timeout (RFC 8985 6.2 step 6, 7.3). Segments RACK
 * marked lost start (or feed) recovery and go out at once.
 */
function onLossTimer(c: Connection): void {
  const rack = c.rack;
  if (rack === undefined || !canSendData(c.state)) return;
  if (rack.onTimer(c)) {
    c.ctx.counters.TCPRACKReoTimeout++;
    c.recovery.onLossMarked?.(c);
    output(c);
  }
}

/** The retransmission timer expired (RFC 6298 5.4-5.6, RFC 9293 3.10.8), or the persist timer. */
export function onRtxTimer(c: Connection): void {
  if (c.rtxMode === 'none') return;
  if (c.ctx.clock.now() < c.rtxDeadline) {
    // Restarted since it was armed (armRtx moves only the deadline): wait for the rest.
    c.rtxTimer.arm(c.rtxDeadline);
    return;
  }
  const mode = c.rtxMode;
  c.rtxMode = 'none';
  if (mode === 'persist') {
    onPersist(c);
    return;
  }
  const cfg = c.ctx.config;
  const k = c.ctx.counters;
  const now = c.ctx.clock.now();
  if (c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED') {
    // MUST-22/MUST-23: the same mechanism for SYNs, with its own limit (tcp_syn_retries /
    // tcp_synack_retries; 6 retries back off 1+2+...+64 = 127 s, over the 3 minutes... close to Linux).
    const limit = c.state === 'SYN-SENT' ? cfg.synRetries : cfg.synAckRetries;
    if (c.retransmits >= limit) {
      if (c.passive) {
        // A half-open passive connection just disappears (Linux drops the request sock).
        k.AttemptFails++;
        c.destroy();
      } else {
        c.fail(c.softError ?? 'ETIMEDOUT');
      }
      return;
    }
    c.retransmits++;
    c.synTimedOut = true;
    c.rttSeq = undefined; // Karn: the handshake RTT is not measured from a retransmitted SYN
    k.TCPTimeouts++;
    k.TCPSynRetrans++;
    c.rtt.backoff();
    sendSyn(c, true);
    return;
  }
  if (!canSendData(c.state) || c.sndUna === c.sndMax) return;
  // RFC 9293 3.8.3 (MUST-20): after R2 retransmissions of the same data, close the connection.
  if (c.retransmits >= cfg.retries2) {
    k.TCPAbortOnTimeout++;
    c.fail(c.softError ?? 'ETIMEDOUT');
    return;
  }
  // A peer that answers with a zero window is alive: its data is held, not lost (Linux
  // tcp_retransmit_timer does not time such a connection out while it hears from the peer).
  // Once the backoff reaches maxRto every timeout counts again, so this stays bounded.
  if (!(c.sndWnd === 0 && now - c.lastRecvTime < cfg.maxRto)) c.retransmits++;
  k.TCPTimeouts++;
  const flight = c.flightSize();
  // Leave fast recovery; RFC 6582 / RFC 6675 5.1: recover = RecoveryPoint = HighData, so
  // duplicate ACKs caused by the go-back do not start a second reduction.
  c.recovery.onRto(c);
  c.recoveryPoint = c.sndMax;
  c.dupAcks = 0;
  // RFC 5681 3.1: ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS (the loss window).
  c.cc.onRto(flight, now);
  // RFC 6675 5.1: SACK information is expunged (the scoreboard's documented choice).
  c.scoreboard?.reset();
  // Go back: everything after SND.UNA is considered lost and sent again as cwnd allows.
  c.sndNxt = c.sndUna;
  c.rttSeq = undefined;
  // RFC 6298 5.5 back off, 5.4 retransmit the earliest unacknowledged segment, 5.6 restart
  // the timer (sendSegment starts it with the backed-off RTO).
  c.rtt.backoff();
  retransmit(c, c.sndUna, c.mss);
  c.ctx.debug(() => `${c.name()} RTO #${c.retransmits}: una=${c.sndUna} rto=${c.rtt.rto} cwnd=${c.cc.cwnd}`);
}

/**
 * The persist timer: nothing in flight and the peer's window is closed (or too small for
 * the sender SWS rules). RFC 9293 3.8.6.1 (MUST-36, MUST-37): probe, back off, and keep the
 * window closed indefinitely as long as the peer answers; only unanswered probes count
 * toward R2 (Linux tcp_probe_timer).
 */
function onPersist(c: Connection): void {
  if (!canSendData(c.state)) return;
  const avail = seqDiff(c.dataEnd(), c.sndNxt);
  const finPending = c.finQueued && avail >= 0;
  if (seqGt(c.sndMax, c.sndUna) || (avail <= 0 && !finPending)) {
    output(c);
    return;
  }
  if (c.probesOut >= c.ctx.config.retries2 || (c.orphan && c.persistBackoff >= c.ctx.config.orphanRetries)) {
    // Unanswered probes count toward R2; an orphan gives up after orphanRetries probes even
    // when they are answered (Linux tcp_probe_timer for SOCK_DEAD sockets, RFC 6429).
    c.ctx.counters.TCPAbortOnTimeout++;
    c.fail(c.softError ?? 'ETIMEDOUT');
    return;
  }
  const usable = Math.min(c.sndWnd, c.cc.cwnd) - seqDiff(c.sndNxt, c.sndUna);
  if (usable > 0) {
    // RFC 1122 4.2.3.4: the override timeout — send what fits even though it is short.
    const len = Math.min(avail, usable, maxPayload(c));
    sendSegment(c, c.sndNxt, Math.max(len, 0), finPending && len === avail && usable > len);
    return;
  }
  c.ctx.counters.TCPWinProbe++;
  sendProbe(c, seqAdd(c.sndUna, -1));
  c.probesOut++;
  c.persistBackoff++;
  armPersist(c);
}

/** RFC 1122 4.2.3.2: the delayed ACK is due (MUST-40: under 0.5 s). */
export function onDelackTimer(c: Connection): void {
  if (c.lastAckSent === c.rcvNxt && !c.ackNow) return;
  if (c.state === 'SYN-SENT' || c.state === 'CLOSED') return;
  c.ctx.counters.DelayedACKs++;
  sendAckNow(c);
}

/** (Re)arm the keepalive timer for lastRecvTime + idle, when SO_KEEPALIVE is on (MUST-24, off by default MUST-25). */
export function armKeepalive(c: Connection): void {
  if (c.state === 'TIME-WAIT' || (c.state === 'FIN-WAIT-2' && c.orphan)) return;
  if (!c.opts.keepAlive || c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED' || c.state === 'CLOSED') {
    c.keepTimer.cancel();
    return;
  }
  c.keepTimer.arm(c.lastRecvTime + c.opts.keepIdle * 1000);
}

/** An orphaned FIN-WAIT-2 gives up after tcp_fin_timeout (Linux; the peer may never send its FIN). */
export function armFinWait2(c: Connection): void {
  c.keepTimer.arm(c.ctx.clock.now() + c.ctx.config.finTimeout);
}

/**
 * TIME-WAIT over (RFC 9293 3.10.8: delete the TCB), orphan FIN-WAIT-2 over, or keepalive:
 * RFC 9293 3.8.4 (MUST-26) probe only after `idle` without hearing from the peer; Linux
 * probes <SEQ=SND.NXT-1> with no data (SHLD-12) every `interval` and after `count`
 * unanswered probes resets the connection with ETIMEDOUT (MUST-29: one lost ACK is no death).
 */
export function onKeepTimer(c: Connection): void {
  const now = c.ctx.clock.now();
  if (c.state === 'TIME-WAIT' || (c.state === 'FIN-WAIT-2' && c.orphan)) {
    c.destroy();
    return;
  }
  if (!c.opts.keepAlive || c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED') return;
  const idle = c.opts.keepIdle * 1000;
  // Data outstanding or queued: the retransmission/persist timers watch the peer.
  if (seqGt(c.sndMax, c.sndUna) || seqDiff(c.dataEnd(), c.sndNxt) > 0) {
    c.keepTimer.arm(now + idle);
    return;
  }
  const elapsed = now - c.lastRecvTime;
  if (elapsed < idle) {
    c.keepTimer.arm(c.lastRecvTime + idle);
    return;
  }
  if (c.keepProbes >= c.opts.keepCount) {
    c.ctx.counters.TCPAbortOnTimeout++;
    c.fail(c.softError ?? 'ETIMEDOUT', true);
    return;
  }
  c.ctx.counters.TCPKeepAlive++;
  sendProbe(c, seqAdd(c.sndMax, -1));
  c.keepProbes++;
  c.keepTimer.arm(now + c.opts.keepInterval * 1000);
}
