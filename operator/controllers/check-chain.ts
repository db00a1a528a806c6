/**
 * A chain of named checks, evaluated in order; the first violation wins (cert-manager's policy chain).
 * Used by the NerDeployment model gates (nerdeployment/gates.ts) and the DriftPolicy retraining checks
 * (driftpolicy/run-checks.ts). A check is dropped from a chain by its name, never by its function name.
 */

/** Why a check refuses. */
export interface Violation {
  reason: string;
  message: string;
}

/** One check: a stable name (to drop it from a chain) and the pure test itself. */
export interface NamedCheck<Input, V extends Violation = Violation> {
  readonly name: string;
  check(input: Input): V | undefined;
}

/** Run the chain: the first violation, or undefined when every check passes. */
export function firstViolationOf<Input, V extends Violation>(
  checks: readonly NamedCheck<Input, V>[],
  input: Input,
): V | undefined {
  for (const c of checks) {
    const v = c.check(input);
    if (v) return v;
  }
  return undefined;
}

/** The chain without the checks named in `names`. */
export function without<C extends { readonly name: string }>(checks: readonly C[], ...names: string[]): C[] {
  return checks.filter((c) => !names.includes(c.name));
}
