/**
 * checkModule(): run every pre-flight check of a module against a target
 * kernel and decide whether the kernel would load it.
 */
import { KmodkitError } from '../errors.js';
import type { KernelModule } from '../module/module.js';
import { modinfoValue } from '../module/modinfo.js';
import { countFindings, failed, isBlocking, type CheckName, type Finding, type FindingCounts } from './findings.js';
import type { TargetKernel } from './target.js';
import { createContext, type Check, type CheckContext, type CheckOptions } from './checks/context.js';
import { checkElf } from './checks/elf.js';
import { checkCompression } from './checks/compression.js';
import { checkSignature } from './checks/signature.js';
import { checkThisModule, checkVermagic } from './checks/vermagic.js';
import { checkExports, checkSymbols } from './checks/symbols.js';
import { checkDepends } from './checks/depends.js';
import { checkParams } from './checks/params.js';
import { checkLoaded, checkTaints } from './checks/taints.js';

export type { CheckOptions } from './checks/context.js';

export type Verdict = 'loads' | 'fails';

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
}

/** The checks in the order the kernel meets the corresponding conditions. */
export const CHECKS: ReadonlyArray<readonly [CheckName, Check]> = [
  ['elf', checkElf],
  ['compression', checkCompression],
  ['signature', checkSignature],
  ['vermagic', checkVermagic],
  ['this-module', checkThisModule],
  ['symbols', checkSymbols],
  ['exports', checkExports],
  ['depends', checkDepends],
  ['params', checkParams],
  ['taints', checkTaints],
  ['loaded', checkLoaded],
];

async function runOne(name: CheckName, check: Check, ctx: CheckContext): Promise<Finding[]> {
  try {
    return await check(ctx);
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    // The module's own data could not be decoded for this check.
    return [failed('module.malformed', `${name} check: cannot decode the module: ${e.message}`, { errno: e.errno ?? 'ENOEXEC', detail: { check: name, code: e.code } })];
  }
}

/** Check one module against a target. Never throws for module or target content problems. */
export async function checkModule(mod: KernelModule, target: TargetKernel, opts: CheckOptions = {}): Promise<CheckResult> {
  const ctx = createContext(mod, target, opts);
  const findings: Finding[] = [];
  for (const [name, check] of CHECKS) findings.push(...(await runOne(name, check, ctx)));
  const vermagic = ctx.modinfo ? modinfoValue(ctx.modinfo, 'vermagic') : undefined;
  return {
    module: {
      name: ctx.name,
      ...(opts.path !== undefined ? { path: opts.path } : {}),
      ...(vermagic !== undefined ? { vermagic } : {}),
      compression: mod.compression.format,
    },
    verdict: findings.some(isBlocking) ? 'fails' : 'loads',
    findings,
    counts: countFindings(findings),
  };
}
