/**
 * What a pre-flight check reports: one Finding per rule looked at, plain
 * data. The rule catalogue and the functions that make findings are in
 * lib/check/findings.ts; the record itself lives at the bottom of the
 * layers because errors carry findings too (EREJECTED, ESYSCALL's
 * explanation in lib/errors.ts).
 */
import type { ErrnoName } from './errno.js';

export type Severity = 'error' | 'warning' | 'info';
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
}
