/**
 * Congestion control algorithms by name (TCP_CONGESTION): 'newreno' (RFC 5681 / RFC 6582 /
 * RFC 3465) and 'cubic' (RFC 9438, the default like Linux).
 */
import type { CongestionName } from '../api.js';
import { Cubic } from './cubic.js';
import { NewReno } from './newreno.js';
import type { CongestionControl } from './types.js';

export type { CongestionControl } from './types.js';
export { INITIAL_SSTHRESH, initialWindow } from './types.js';
export { NewReno, ABC_L } from './newreno.js';
export { Cubic, CUBIC_ALPHA, CUBIC_BETA, CUBIC_C } from './cubic.js';

/** A fresh algorithm instance, already init()ed with `mss` (IW per RFC 6928). */
export function createCongestionControl(name: CongestionName, mss: number, now: number): CongestionControl {
  const cc = name === 'newreno' ? new NewReno() : new Cubic();
  cc.init(mss, now);
  return cc;
}
