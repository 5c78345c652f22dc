/**
 * A module's verdict from its findings, and the result record a check
 * returns. Pure.
 *
 * - `fails`: some finding fails (severity error; with failOn 'warning', a
 *   failed warning too) — the kernel would refuse the module;
 * - `incomplete`: nothing fails, but a check that decides whether the kernel
 *   takes the module was skipped because the target lacks an input (its
 *   findings say which: Finding.missing); the result lists them in `missing`;
 * - `loads`: nothing fails and every deciding check ran.
 */
import { countFindings, type Finding, type FindingCounts, type Severity } from './findings.js';
import { TARGET_INPUTS, type TargetInput } from './inputs.js';

export type Verdict = 'loads' | 'fails' | 'incomplete';

export interface CheckedModule {
  readonly name: string;
  readonly path?: string;
  readonly vermagic?: string;
  readonly compression: string;
}

export interface CheckResult {
  readonly module: CheckedModule;
  readonly verdict: Verdict;
  readonly findings: readonly Finding[];
  readonly counts: FindingCounts;
  /** With verdict 'incomplete': the target inputs whose absence left the deciding checks skipped. */
  readonly missing?: readonly TargetInput[];
}

/** Lowest severity of a failed finding that fails a module. */
export type FailOn = Exclude<Severity, 'info'>;

/** Whether a finding fails the module under `failOn`. */
export function failsUnder(f: Finding, failOn: FailOn = 'error'): boolean {
  return f.status === 'failed' && (f.severity === 'error' || (failOn === 'warning' && f.severity === 'warning'));
}

/** The target inputs whose absence skipped a deciding check, in TARGET_INPUTS order ([] when none). */
export function missingInputs(findings: readonly Finding[], ignore?: ReadonlySet<string>): TargetInput[] {
  let seen: Set<TargetInput> | undefined;
  for (const f of findings) {
    if (f.status !== 'skipped' || !f.missing?.length || ignore?.has(f.id)) continue;
    seen ??= new Set();
    for (const m of f.missing) seen.add(m);
  }
  return seen ? TARGET_INPUTS.filter((t) => seen!.has(t)) : [];
}

/** The result of a module's findings: verdict, counts and, when incomplete, what is missing. */
export function resultOf(module: CheckedModule, findings: readonly Finding[], failOn: FailOn = 'error', ignore?: ReadonlySet<string>): CheckResult {
  const counts = countFindings(findings);
  if (findings.some((f) => failsUnder(f, failOn))) return { module, verdict: 'fails', findings, counts };
  const missing = missingInputs(findings, ignore);
  if (missing.length) return { module, verdict: 'incomplete', findings, counts, missing };
  return { module, verdict: 'loads', findings, counts };
}
