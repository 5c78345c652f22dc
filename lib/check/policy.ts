/**
 * CI policy over check results, as data: which target inputs must be known
 * (`require`, `strict`), which findings are ignored (`ignore`), which
 * severity fails a module (`failOn`), and whether an incomplete result may
 * pass (`allowIncomplete`). Applied after the checks ran, so the checks
 * themselves stay about the kernel; pure. The CLI's --strict, --require,
 * --ignore, --fail-on and --allow-incomplete are this object.
 */
import { failed, type Finding } from './findings.js';
import { inputName, STRICT_INPUTS, type InputNames, type TargetInput } from './inputs.js';
import { resultOf, type CheckResult, type FailOn } from './verdict.js';
import type { TargetKernel } from './target.js';

export { STRICT_INPUTS, TARGET_INPUTS, targetInput, type TargetInput } from './inputs.js';
export { failsUnder } from './verdict.js';

export interface CheckPolicy {
  /** Target inputs that must be known; each missing one is a failed 'target.missing' finding. */
  readonly require?: readonly TargetInput[];
  /** Require STRICT_INPUTS (release, arch, config, symvers) too. */
  readonly strict?: boolean;
  /** Finding ids that count neither for the verdict nor as failures (reported as skipped). */
  readonly ignore?: readonly string[];
  /** Lowest severity of a failed finding that fails a module (default 'error'). */
  readonly failOn?: FailOn;
  /**
   * Whether an 'incomplete' result (nothing fails, but a deciding check was
   * skipped for want of a target input) passes the run: exit status 0
   * instead of 3. The verdict itself stays 'incomplete'. Default false.
   */
  readonly allowIncomplete?: boolean;
}

/** The inputs a policy requires: `require`, plus STRICT_INPUTS under `strict`; each once, in order. */
export function requiredInputs(policy: CheckPolicy): TargetInput[] {
  return [...new Set([...(policy.strict ? STRICT_INPUTS : []), ...(policy.require ?? [])])];
}

function known(target: TargetKernel, input: TargetInput): boolean {
  if (input === 'vermagic') return target.vermagic !== undefined || (target.release !== undefined && target.config !== undefined);
  return (target as unknown as Record<string, unknown>)[input] !== undefined;
}

/** The findings the policy adds for one target (the same for every module). */
export function requiredInputFindings(target: TargetKernel, require: readonly TargetInput[], names?: InputNames): Finding[] {
  return require
    .filter((input) => !known(target, input))
    .map((input) => failed('target.missing', `required target input '${input}' is unknown: ${target.missing[input] ?? 'not given'}`, { field: input, hint: `give it (${inputName(names, 'targetHelp')}), or drop it from ${inputName(names, 'require')}` }));
}

/**
 * One result under the policy: required-input failures added, ignored
 * findings skipped, verdict recomputed. `names`: how messages name the
 * policy's inputs (the CLI's options, or the library's properties).
 */
export function applyPolicy(r: CheckResult, target: TargetKernel, policy: CheckPolicy, names?: InputNames): CheckResult {
  const ignore = new Set(policy.ignore ?? []);
  const required = requiredInputFindings(target, requiredInputs(policy), names);
  if (ignore.size === 0 && required.length === 0 && (policy.failOn ?? 'error') === 'error') return r;
  const ignoreName = inputName(names, 'ignore');
  const findings = [...required, ...r.findings].map((f) =>
    ignore.has(f.id) && f.status === 'failed' ? { ...f, status: 'skipped' as const, message: `ignored (${ignoreName} ${f.id}): ${f.message}` } : f,
  );
  return resultOf(r.module, findings, policy.failOn, ignore);
}
