/**
 * The TCP sysctls pinned in every Linux scenario namespace, so results never depend on the
 * host's (or the kernel version's) defaults. A scenario may override any of them with a
 * `sysctl` line. Recorded here, and in docs/conformance.md.
 */
export const PINNED_SYSCTLS: Readonly<Record<string, string>> = {
  // Features a scenario negotiates: all on, scenarios turn them off explicitly.
  'net.ipv4.tcp_sack': '1',
  'net.ipv4.tcp_timestamps': '1',
  'net.ipv4.tcp_window_scaling': '1',
  'net.ipv4.tcp_dsack': '1',
  'net.ipv4.tcp_ecn': '0',
  'net.ipv4.tcp_fastopen': '0',
  'net.ipv4.tcp_syncookies': '1',
  'net.ipv4.tcp_max_syn_backlog': '128',
  'net.core.somaxconn': '4096',
  'net.ipv4.tcp_abort_on_overflow': '0',
  // Congestion control and loss recovery: classic RFC 5681/6582/6675 behaviour.
  'net.ipv4.tcp_congestion_control': 'reno',
  'net.ipv4.tcp_recovery': '0', // no RACK: duplicate-ACK threshold loss detection
  'net.ipv4.tcp_early_retrans': '0', // no tail loss probe
  'net.ipv4.tcp_frto': '0',
  'net.ipv4.tcp_reordering': '3',
  'net.ipv4.tcp_thin_linear_timeouts': '0',
  'net.ipv4.tcp_syn_linear_timeouts': '0', // exponential SYN backoff from the first retry
  'net.ipv4.tcp_slow_start_after_idle': '0',
  'net.ipv4.tcp_no_metrics_save': '1',
  'net.ipv4.tcp_mtu_probing': '0',
  'net.ipv4.tcp_retrans_collapse': '0',
  // RFC 6298 2.4: RTO is at least 1 second (Linux defaults to 200 ms; pinned to the RFC).
  'net.ipv4.tcp_rto_min_us': '1000000',
  // Sender-side batching that would merge or delay segments.
  'net.ipv4.tcp_autocorking': '0',
  'net.ipv4.tcp_tso_win_divisor': '3',
  'net.ipv4.tcp_min_tso_segs': '2',
  // Receiver side: immediate duplicate ACKs (no SACK compression), no autotuning.
  'net.ipv4.tcp_comp_sack_nr': '0',
  'net.ipv4.tcp_moderate_rcvbuf': '0',
  'net.ipv4.tcp_rmem': '4096 131072 6291456',
  'net.ipv4.tcp_wmem': '4096 16384 4194304',
  'net.ipv4.tcp_adv_win_scale': '1',
  'net.ipv4.tcp_shrink_window': '0',
  // Timers.
  'net.ipv4.tcp_keepalive_time': '7200',
  'net.ipv4.tcp_keepalive_intvl': '75',
  'net.ipv4.tcp_keepalive_probes': '9',
  'net.ipv4.tcp_fin_timeout': '60',
  'net.ipv4.tcp_syn_retries': '6',
  'net.ipv4.tcp_synack_retries': '5',
  'net.ipv4.tcp_retries2': '15',
  'net.ipv4.tcp_orphan_retries': '0',
  'net.ipv4.tcp_invalid_ratelimit': '500',
  'net.ipv4.tcp_challenge_ack_limit': '1000',
  'net.ipv4.tcp_rfc1337': '0',
  'net.ipv4.tcp_tw_reuse': '0',
  // ICMP: answer echo and errors without rate limiting getting in the way.
  'net.ipv4.icmp_echo_ignore_all': '0',
  'net.ipv4.icmp_ratelimit': '0',
  'net.ipv4.icmp_msgs_per_sec': '10000',
};

/** Namespace-wide settings applied before the TAP exists (no IPv6 chatter on the TAP). */
export const NAMESPACE_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv6.conf.all.disable_ipv6': '1',
  'net.ipv6.conf.default.disable_ipv6': '1',
};
