/**
 * The report of a check run — what checkModules returns and every formatter
 * (toText, toJson, toSarif, toJUnit, toGitHub) renders: the tool, a summary
 * of the target, one result per module file, the files that could not be
 * checked at all, and the run's summary and exit status. Pure.
 */
import type { CheckResult } from '../verdict.js';
import type { TargetKernel } from '../target.js';
import type { CheckPolicy } from '../policy.js';

export interface TargetSummary {
  origin: 'running' | 'offline';
  release?: string;
  arch?: string;
  vermagic?: string;
  sigEnforce?: boolean;
  lockdown?: string;
  inKernelDecompression?: string[];
  symvers?: { path: string; symbols: number; formats: string[] };
  sources: Record<string, string>;
  missing: Record<string, string>;
}

/** A file that could not be checked at all (missing, unreadable, not a regular file). */
export interface InputError {
  path: string;
  /** A kmodkit error code: ENOENT, EIO, ENOTREG. */
  code: string;
  message: string;
}

export interface RunSummary {
  /** Module files checked (results). */
  readonly modules: number;
  readonly loads: number;
  readonly fails: number;
  readonly incomplete: number;
  /** Files that could not be checked at all. */
  readonly inputErrors: number;
  /** The run's exit status: see exitCodeFor. */
  readonly exitCode: number;
}

export interface CheckReport {
  readonly tool: { readonly name: 'kmodkit'; readonly version: string };
  readonly target: TargetSummary;
  readonly results: readonly CheckResult[];
  readonly inputErrors: readonly InputError[];
  /** The policy the results were judged under (exitCodeFor reads allowIncomplete). */
  readonly policy: CheckPolicy;
  readonly summary: RunSummary;
  /** The absolute directory the results' relative paths are relative to (checkModules: the process's), for SARIF's URIs. */
  readonly workingDirectory?: string;
}

export function summarizeTarget(t: TargetKernel): TargetSummary {
  const s: TargetSummary = { origin: t.origin, sources: { ...t.sources }, missing: { ...t.missing } };
  if (t.release !== undefined) s.release = t.release;
  if (t.arch) s.arch = t.arch.name;
  if (t.vermagic) s.vermagic = t.vermagic.value;
  if (t.sigEnforce !== undefined) s.sigEnforce = t.sigEnforce;
  if (t.lockdown !== undefined) s.lockdown = t.lockdown;
  if (t.inKernelDecompression) s.inKernelDecompression = [...t.inKernelDecompression];
  if (t.symvers) s.symvers = { path: t.sources.symvers ?? '', symbols: t.symvers.count, formats: [...t.symvers.formats] };
  return s;
}

/** Exit status codes of a check run. */
export const EXIT = {
  /** every module loads (or is incomplete, under allowIncomplete) */
  loads: 0,
  /** at least one module would fail */
  fails: 1,
  /** usage error, or a file or target input that could not be read */
  inputError: 2,
  /** none fails, but at least one could not be fully checked (verdict 'incomplete') */
  incomplete: 3,
} as const;

/**
 * Exit status of a run: 2 when a file could not be checked, else 1 when a
 * module would fail, else 3 when one is incomplete (0 under the policy's
 * allowIncomplete), else 0.
 */
export function exitCodeFor(report: Pick<CheckReport, 'results' | 'inputErrors'> & { readonly policy?: CheckPolicy }): number {
  if (report.inputErrors.length) return EXIT.inputError;
  let incomplete = false;
  for (const r of report.results) {
    if (r.verdict === 'fails') return EXIT.fails;
    if (r.verdict === 'incomplete') incomplete = true;
  }
  return incomplete && !report.policy?.allowIncomplete ? EXIT.incomplete : EXIT.loads;
}

/** A report from its parts: the summary counted, the exit status decided. */
export function checkReport(parts: {
  version: string;
  target: TargetKernel;
  results: readonly CheckResult[];
  inputErrors?: readonly InputError[];
  policy?: CheckPolicy;
  workingDirectory?: string;
}): CheckReport {
  const results = parts.results;
  const inputErrors = parts.inputErrors ?? [];
  const policy = parts.policy ?? {};
  let fails = 0, incomplete = 0;
  for (const r of results) {
    if (r.verdict === 'fails') fails++;
    else if (r.verdict === 'incomplete') incomplete++;
  }
  return {
    tool: { name: 'kmodkit', version: parts.version },
    target: summarizeTarget(parts.target),
    results,
    inputErrors,
    policy,
    summary: {
      modules: results.length,
      loads: results.length - fails - incomplete,
      fails,
      incomplete,
      inputErrors: inputErrors.length,
      exitCode: exitCodeFor({ results, inputErrors, policy }),
    },
    ...(parts.workingDirectory !== undefined ? { workingDirectory: parts.workingDirectory } : {}),
  };
}

/** Display path of a result. */
export function resultPath(r: CheckResult): string {
  return r.module.path ?? r.module.name;
}
