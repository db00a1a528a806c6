/** The conditions each NerDeployment planner sets or removes, applied in one place (plan.ts). */
import { removeCondition, setCondition, type Condition } from '../../runtime/conditions.js';

/** A condition a planner sets, or removes (no `set`). */
export type ConditionChange =
  | { type: string; set: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string } }
  | { type: string; set?: undefined };

export function setTo(
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
): ConditionChange {
  return { type, set: { status, reason, message } };
}

export function removed(type: string): ConditionChange {
  return { type };
}

/** `prev` with the changes applied in order (lastTransitionTime moves only on a flip). */
export function applyConditionChanges(
  prev: readonly Condition[] | undefined,
  changes: readonly ConditionChange[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  let conds: Condition[] = [...(prev ?? [])];
  for (const c of changes) {
    if (!c.set) conds = removeCondition(conds, c.type);
    else
      conds = setCondition(
        conds,
        { type: c.type, ...c.set, ...(generation !== undefined ? { observedGeneration: generation } : {}) },
        now,
      );
  }
  return conds;
}
