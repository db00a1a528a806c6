/** Labels and names of the objects the operator creates. */
import { LABELS, MANAGED_BY } from '../api/group.js';

/** Labels on every object the operator creates. */
export function managedLabels(extra: Record<string, string>): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, ...extra };
}

/** Shortens `base` so that `base + suffix` is a valid name of at most `max` characters. */
export function boundedName(base: string, suffix: string, max = 63): string {
  const room = max - suffix.length;
  return `${base.slice(0, room).replace(/[-.]+$/, '')}${suffix}`;
}
