/** Plain-text tables and ages the way kubectl prints them (pure). */

/** Columns padded to their widest cell, separated by three spaces; no trailing spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** kubectl's age: 45s, 12m, 3h, 5d (from a creation time to `now`). */
export function age(since: string | Date | undefined, now: Date): string {
  if (since === undefined) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - new Date(since).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A cell for an optional value: `-` when absent. */
export const cell = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));
