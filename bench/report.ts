/**
 * The results table. "x kernel" is value / (the kernel row's value): for throughput and
 * connection rate higher is better (1.00x = as fast as the kernel); for latency and memory
 * lower is better (2.00x = twice the kernel's).
 */
import type { CaseResult } from './cases.js';

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  return v.toFixed(3);
}

/** Ratio of each row to its reference row, or undefined. */
export function ratioOf(r: CaseResult, all: readonly CaseResult[]): number | undefined {
  if (r.ref === undefined || r.value === null) return undefined;
  const ref = all.find((x) => x.id === r.ref);
  if (ref === undefined || ref.value === null || ref.value === 0) return undefined;
  return r.value / ref.value;
}

export function formatTable(results: readonly CaseResult[]): string {
  const rows: string[][] = [['case', 'value', 'unit', 'runs', 'x kernel', 'note']];
  for (const r of results) {
    const ratio = ratioOf(r, results);
    rows.push([
      r.name,
      r.value === null ? (r.status === 'unavailable' ? 'n/a' : 'ERROR') : fmt(r.value),
      r.unit,
      r.runs.length > 1 ? r.runs.map(fmt).join(' ') : '',
      ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
      r.note ?? '',
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (c === 5 ? 0 : row[c]!.length))));
  const line = (row: string[]): string =>
    row
      .map((cell, c) => (c === 5 ? cell : c === 0 || c === 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [line(rows[0]!), rows[0]!.map((_, c) => '-'.repeat(c === 5 ? 4 : widths[c]!)).join('  ')];
  for (const row of rows.slice(1)) out.push(line(row));
  return out.join('\n');
}
