/**
 * checkModule(): run every pre-flight check of a module against a target
 * kernel and decide whether the kernel would load it.
 */
import { KmodkitError } from '../errors.js';
import type { KernelModule } from '../module/module.js';
import { modinfoValue } from '../module/modinfo.js';
import { failed, type CheckName, type Finding } from './findings.js';
import type { TargetKernel } from './target.js';
import { createContext, type Check, type CheckContext, type CheckOptions, type NeedsCompanions } from './checks/context.js';
import type { ModuleFactsIndex } from '../module/facts.js';
import { resultOf, type CheckedModule, type CheckResult } from './verdict.js';
import { checkElf } from './checks/elf.js';
import { checkCompression } from './checks/compression.js';
import { checkSignature, finishSignature, type SignatureWait } from './checks/signature.js';
import { checkThisModule, checkVermagic } from './checks/vermagic.js';
import { checkExports, checkSymbols, finishSymbols, type ModuleSide } from './checks/symbols.js';
import { checkDepends, finishDepends, type DependsState } from './checks/depends.js';
import { checkParams } from './checks/params.js';
import { checkLoaded, checkTaints } from './checks/taints.js';

export type { CheckOptions } from './checks/context.js';
export type { CheckedModule, CheckResult, Verdict } from './verdict.js';

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

async function runOne(name: CheckName, check: Check, ctx: CheckContext): Promise<Finding[] | NeedsCompanions> {
  try {
    return await check(ctx);
  } catch (e) {
    return malformed(name, e);
  }
}

/** One check's part of a prepared module: its findings, or what it still needs of the companions. */
export type PreparedPart = { readonly check: CheckName; readonly findings: readonly Finding[] } | { readonly check: CheckName; readonly pending: NeedsCompanions };

/**
 * A module checked as far as it can be without the modules checked alongside:
 * plain data (findings, and what the symbols and depends checks still need of
 * the companions), no reference to the module image.
 */
export interface PreparedCheck {
  readonly module: CheckedModule;
  readonly parts: readonly PreparedPart[];
}

async function prepare(mod: KernelModule, ctx: CheckContext): Promise<PreparedCheck> {
  const parts: PreparedPart[] = [];
  for (const [name, check] of CHECKS) {
    const r = await runOne(name, check, ctx);
    parts.push(Array.isArray(r) ? { check: name, findings: r } : { check: name, pending: r });
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

/** What a check that needed the companions (or the target's keys) finds once they are known. */
function finishPart(check: CheckName, pending: NeedsCompanions, target: TargetKernel, companions: () => ModuleFactsIndex): Promise<Finding[]> | Finding[] {
  switch (check) {
    case 'symbols': return finishSymbols(target, pending.state as ModuleSide, companions);
    case 'depends': return finishDepends(target, pending.state as DependsState, companions());
    case 'signature': return finishSignature(target, pending.state as SignatureWait);
    default: throw new Error(`internal: the ${check} check does not wait for the companions or the keys`);
  }
}

/** The findings of a prepared module, its companion-dependent checks finished, in check order. */
export async function finishFindings(p: PreparedCheck, target: TargetKernel, companions: () => ModuleFactsIndex): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const part of p.parts) {
    if ('findings' in part) {
      for (const f of part.findings) findings.push(f);
      continue;
    }
    let r: Finding[];
    try {
      r = await finishPart(part.check, part.pending, target, companions);
    } catch (e) {
      r = malformed(part.check, e);
    }
    for (const f of r) findings.push(f);
  }
  return findings;
}

/** The second half: the companion-dependent checks, then the verdict. */
export async function finishCheck(p: PreparedCheck, target: TargetKernel, companions: () => ModuleFactsIndex): Promise<CheckResult> {
  return resultOf(p.module, await finishFindings(p, target, companions));
}

/**
 * Check one module against a target: its verdict (loads, fails, or
 * incomplete when the target lacks what a deciding check needs) and every
 * finding. Never throws for module or target content problems.
 */
export async function checkModule(mod: KernelModule, target: TargetKernel, opts: CheckOptions = {}): Promise<CheckResult> {
  const ctx = createContext(mod, target, opts);
  return finishCheck(await prepare(mod, ctx), target, () => ctx.companions());
}
