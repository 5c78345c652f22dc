/**
 * checkModule(): run every pre-flight check of a module against a target
 * kernel and decide whether the kernel would load it.
 */
import { KmodkitError } from '../errors.js';
import type { KernelModule } from '../module/module.js';
import { modinfoValue } from '../module/modinfo.js';
import { countFindings, failed, isBlocking, type CheckName, type Finding, type FindingCounts } from './findings.js';
import type { TargetKernel } from './target.js';
import { createContext, type Check, type CheckContext, type CheckOptions, type Finish } from './checks/context.js';
import type { ModuleFactsIndex } from '../module/facts.js';
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

/** A check's KmodkitError as its finding: the module's own data could not be decoded for it. */
function malformed(name: CheckName, e: unknown): Finding[] {
  if (!(e instanceof KmodkitError)) throw e;
  return [failed('module.malformed', `${name} check: cannot decode the module: ${e.message}`, { errno: e.errno ?? 'ENOEXEC', detail: { check: name, code: e.code } })];
}

async function runOne(name: CheckName, check: Check, ctx: CheckContext): Promise<Finding[] | Finish> {
  try {
    return await check(ctx);
  } catch (e) {
    return malformed(name, e);
  }
}

/**
 * A module checked as far as it can be without the modules checked alongside:
 * plain data (findings, and the companion-dependent rest of the symbols and
 * depends checks), no reference to the module image.
 */
export interface PreparedCheck {
  readonly module: CheckedModule;
  readonly parts: ReadonlyArray<{ readonly check: CheckName; readonly findings: readonly Finding[] } | { readonly check: CheckName; readonly finish: Finish }>;
}

async function prepare(mod: KernelModule, ctx: CheckContext): Promise<PreparedCheck> {
  const parts: Array<PreparedCheck['parts'][number]> = [];
  for (const [name, check] of CHECKS) {
    const r = await runOne(name, check, ctx);
    parts.push(typeof r === 'function' ? { check: name, finish: r } : { check: name, findings: r });
  }
  const vermagic = ctx.modinfo ? modinfoValue(ctx.modinfo, 'vermagic') : undefined;
  return {
    module: {
      name: ctx.name,
      ...(ctx.opts.path !== undefined ? { path: ctx.opts.path } : {}),
      ...(vermagic !== undefined ? { vermagic } : {}),
      compression: mod.compression.format,
    },
    parts,
  };
}

/**
 * The first half of checkModule: every check that needs only the module and
 * the target. A whole-tree run prepares each module while it indexes the
 * companions (one read per module), then finishes them all against the index.
 */
export function prepareCheck(mod: KernelModule, target: TargetKernel, opts: CheckOptions = {}): Promise<PreparedCheck> {
  return prepare(mod, createContext(mod, target, opts));
}

/** The second half: the companion-dependent checks, then the verdict. */
export async function finishCheck(p: PreparedCheck, companions: () => ModuleFactsIndex): Promise<CheckResult> {
  const findings: Finding[] = [];
  for (const part of p.parts) {
    if ('findings' in part) findings.push(...part.findings);
    else {
      let r: Finding[];
      try {
        r = await part.finish(companions);
      } catch (e) {
        r = malformed(part.check, e);
      }
      findings.push(...r);
    }
  }
  return {
    module: p.module,
    verdict: findings.some(isBlocking) ? 'fails' : 'loads',
    findings,
    counts: countFindings(findings),
  };
}

/** Check one module against a target. Never throws for module or target content problems. */
export async function checkModule(mod: KernelModule, target: TargetKernel, opts: CheckOptions = {}): Promise<CheckResult> {
  const ctx = createContext(mod, target, opts);
  return finishCheck(await prepare(mod, ctx), () => ctx.companions());
}
