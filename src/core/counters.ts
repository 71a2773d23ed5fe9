/**
 * Named counters. Each layer keeps a plain object of numbers (like Linux's
 * /proc/net/snmp lines), made by `counters([...names])`, so a stat is a property
 * increment on the hot path and the whole set prints as JSON.
 */
export type Counters<K extends string> = { [P in K]: number };

export function counters<const K extends string>(names: readonly K[]): Counters<K> {
  const c = {} as Counters<K>;
  for (const n of names) c[n] = 0;
  return c;
}
