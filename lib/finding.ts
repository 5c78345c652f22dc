/**
 * What a pre-flight check reports: one Finding per rule looked at, plain
 * data. The rule catalogue and the functions that make findings are in
 * lib/check/findings.ts; the record itself lives at the bottom of the
 * layers because errors carry findings too (EREJECTED, ESYSCALL's
 * explanation in lib/errors.ts).
 */
import type { ErrnoName } from './errno.js';

export type Severity = 'error' | 'warning' | 'info';

/**
 * The pieces of a target kernel a check may need (the keys of
 * TargetKernel.missing); a CI policy can require them, and a check skipped
 * for want of one names it (Finding.missing). lib/check/inputs.ts describes
 * how callers name them.
 */
export const TARGET_INPUTS = ['release', 'arch', 'config', 'symvers', 'modules', 'vermagic', 'sigEnforce', 'moduleSupport', 'lockdown', 'inKernelDecompression', 'loadedModules', 'certs'] as const;
export type TargetInput = (typeof TARGET_INPUTS)[number];

export type FindingStatus = 'failed' | 'passed' | 'skipped';

/** Check groups, in the order they run (roughly the kernel's load_module order). */
export type CheckName =
  | 'elf'
  | 'compression'
  | 'signature'
  | 'vermagic'
  | 'modversions'
  | 'this-module'
  | 'symbols'
  | 'exports'
  | 'depends'
  | 'params'
  | 'taints'
  | 'loaded';

export interface Finding {
  /** Stable rule id, e.g. 'vermagic.mismatch'. Passed/skipped findings carry the check's main rule id. */
  readonly id: string;
  readonly check: CheckName;
  readonly severity: Severity;
  readonly status: FindingStatus;
  readonly message: string;
  /** The symbol concerned (symbol checks). */
  readonly symbol?: string;
  /** The modinfo key, parameter, section or target input concerned. */
  readonly field?: string;
  /** What to do about it. */
  readonly hint?: string;
  /** errno the kernel would return for a failed error finding (init_module/finit_module). */
  readonly errno?: ErrnoName;
  /** Machine-readable extras (expected/actual values …). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /**
   * A skipped check that decides whether the kernel takes the module: the
   * target inputs whose absence skipped it. Such a skip makes the verdict
   * 'incomplete' rather than 'loads'.
   */
  readonly missing?: readonly TargetInput[];
}
