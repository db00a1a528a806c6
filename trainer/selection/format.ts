/**
 * The manifest's `training.selection` as `ner-ops evaluate` prints it. Read back from a bundle, so every
 * field is treated as possibly absent (an older or hand-edited manifest).
 */
export interface SelectionView {
  folds?: number;
  seeds?: number[];
  stopped?: string;
  chosen?: { label?: string };
  foldF1?: number;
  candidates?: { label?: string; meanF1?: number; runs?: unknown[] }[];
}

/** The selection as text: the chosen setup, then every candidate trained at full epochs, best first. */
export function formatSelection(s: SelectionView): string {
  const lines = [
    `setup chosen on ${s.folds ?? '?'} folds of the training set (seeds ${(s.seeds ?? []).join(', ')}; ${s.stopped ?? ''}): ${s.chosen?.label ?? '?'}, fold F1 ${s.foldF1?.toFixed(4) ?? '?'}`,
  ];
  const full = (s.candidates ?? []).filter((c) => typeof c.meanF1 === 'number');
  full.sort((a, b) => (b.meanF1 as number) - (a.meanF1 as number));
  for (const c of full)
    lines.push(`  ${(c.meanF1 as number).toFixed(4)}  ${c.label ?? '?'} (${c.runs?.length ?? 0} fold runs)`);
  const short = (s.candidates ?? []).length - full.length;
  if (short > 0) lines.push(`  ${short} more dropped after the short first round`);
  return lines.join('\n');
}
