/**
 * CI policy over check results: which target inputs must be known
 * (--require / --strict), which findings are ignored (--ignore), and which
 * severity fails a module (--fail-on). Applied after the checks ran, so the
 * checks themselves stay about the kernel; pure.
 */
import { countFindings, failed, type Finding, type Severity } from './findings.js';
import type { CheckResult } from './run.js';
import type { TargetKernel } from './target.js';

/** Target inputs --require can name (the keys of TargetKernel.missing). */
export const TARGET_INPUTS = ['release', 'arch', 'config', 'symvers', 'modules', 'vermagic', 'sigEnforce', 'moduleSupport', 'lockdown', 'inKernelDecompression', 'loadedModules', 'certs'] as const;
export type TargetInput = (typeof TARGET_INPUTS)[number];

/** What --strict requires: the inputs without which "loads" is mostly a guess. */
export const STRICT_INPUTS: readonly TargetInput[] = ['release', 'arch', 'config', 'symvers'];

export interface CheckPolicy {
  /** Target inputs that must be known; each missing one is a failed 'target.missing' finding. */
  readonly require?: readonly TargetInput[];
  /** Finding ids that count neither for the verdict nor as failures (reported as skipped). */
  readonly ignore?: readonly string[];
  /** Lowest severity of a failed finding that fails a module (default 'error'). */
  readonly failOn?: Exclude<Severity, 'info'>;
}

/** A --require name (kebab-case or the TargetKernel key, any case) → the input, or undefined. */
export function targetInput(name: string): TargetInput | undefined {
  const n = name.replace(/[-_]/g, '').toLowerCase();
  const alias: Record<string, TargetInput> = { sigenforce: 'sigEnforce', modulesupport: 'moduleSupport', decompression: 'inKernelDecompression', inkerneldecompression: 'inKernelDecompression', loaded: 'loadedModules', loadedmodules: 'loadedModules', modulesdir: 'modules' };
  return alias[n] ?? TARGET_INPUTS.find((t) => t.toLowerCase() === n);
}

function known(target: TargetKernel, input: TargetInput): boolean {
  if (input === 'vermagic') return target.vermagic !== undefined || (target.release !== undefined && target.config !== undefined);
  return (target as unknown as Record<string, unknown>)[input] !== undefined;
}

/** The findings the policy adds for one target (the same for every module). */
export function requiredInputFindings(target: TargetKernel, require: readonly TargetInput[]): Finding[] {
  return require
    .filter((input) => !known(target, input))
    .map((input) => failed('target.missing', `required target input '${input}' is unknown: ${target.missing[input] ?? 'not given'}`, { field: input, hint: 'give it (see kmodkit check --help), or drop it from --require' }));
}

/** Whether a finding fails the module under `failOn`. */
export function failsUnder(f: Finding, failOn: CheckPolicy['failOn'] = 'error'): boolean {
  return f.status === 'failed' && (f.severity === 'error' || (failOn === 'warning' && f.severity === 'warning'));
}

/** One result under the policy: required-input failures added, ignored findings skipped, verdict recomputed. */
export function applyPolicy(r: CheckResult, target: TargetKernel, policy: CheckPolicy): CheckResult {
  const ignore = new Set(policy.ignore ?? []);
  const findings = [...requiredInputFindings(target, policy.require ?? []), ...r.findings].map((f) =>
    ignore.has(f.id) && f.status === 'failed' ? { ...f, status: 'skipped' as const, message: `ignored (--ignore ${f.id}): ${f.message}` } : f,
  );
  return { ...r, findings, counts: countFindings(findings), verdict: findings.some((f) => failsUnder(f, policy.failOn)) ? 'fails' : 'loads' };
}
