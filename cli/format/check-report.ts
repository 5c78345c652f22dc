/**
 * The report every `kmodkit check` formatter renders: the tool, a summary
 * of the target, one result per module file, and the files that could not
 * be checked at all.
 */
import type { CheckResult } from '../../lib/check/run.js';
import type { TargetKernel } from '../../lib/check/target.js';

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

export interface InputError {
  path: string;
  code: string;
  message: string;
}

export interface CheckReport {
  tool: { name: 'kmodkit'; version: string };
  target: TargetSummary;
  results: CheckResult[];
  inputErrors: InputError[];
}

export function summarizeTarget(t: TargetKernel): TargetSummary {
  const s: TargetSummary = { origin: t.origin, sources: { ...t.sources }, missing: { ...t.missing } };
  if (t.release !== undefined) s.release = t.release;
  if (t.arch) s.arch = t.arch.name;
  if (t.vermagic) s.vermagic = t.vermagic.value;
  if (t.sigEnforce !== undefined) s.sigEnforce = t.sigEnforce;
  if (t.lockdown !== undefined) s.lockdown = t.lockdown;
  if (t.inKernelDecompression) s.inKernelDecompression = [...t.inKernelDecompression];
  if (t.symvers) s.symvers = { path: t.sources.symvers ?? '', symbols: t.symvers.entries.length, formats: [...t.symvers.formats] };
  return s;
}

/** Exit status of a check run: 0 all load, 1 some would fail, 2 input errors. */
export function exitCode(report: CheckReport): number {
  if (report.inputErrors.length) return 2;
  return report.results.some((r) => r.verdict === 'fails') ? 1 : 0;
}

/** Display path of a result. */
export function resultPath(r: CheckResult): string {
  return r.module.path ?? r.module.name;
}
