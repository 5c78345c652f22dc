/**
 * The finding model of the pre-flight check, and the catalogue of rules.
 *
 * Every check reports at least one finding: `failed` (the rule found a
 * problem), `passed` (it looked and found none) or `skipped` (an input it
 * needs is missing — with the reason; never reported as passed).
 * A module "fails" when any finding is `failed` with severity `error`, i.e.
 * the kernel would refuse it; warnings are loads-with-consequences (taints,
 * kernel log warnings), info is for context.
 */
import type { CheckName, Finding, FindingStatus, Severity } from '../finding.js';

export type { CheckName, Finding, FindingStatus, Severity } from '../finding.js';

export interface RuleInfo {
  readonly id: string;
  readonly check: CheckName;
  /** Severity when the rule fails (some rules lower it depending on the target). */
  readonly severity: Severity;
  readonly title: string;
}

const R = (id: string, check: CheckName, severity: Severity, title: string): RuleInfo => ({ id, check, severity, title });

/** Every rule id the checks can report. */
export const RULES: readonly RuleInfo[] = [
  R('kernel.no-modules', 'elf', 'error', 'The target kernel has module support (CONFIG_MODULES)'),
  R('target.missing', 'elf', 'error', 'Every target input named by --require / --strict is known'),
  R('module.malformed', 'elf', 'error', 'Module data decodes (ELF, .modinfo, tables)'),
  R('elf.type', 'elf', 'error', 'Module is a relocatable ELF object (ET_REL)'),
  R('elf.validity', 'elf', 'error', "Module passes the kernel's elf_validity_check (sections inside the image, names, one .modinfo/this_module/symtab)"),
  R('arch.mismatch', 'elf', 'error', 'Module machine matches the target architecture'),
  R('arch.class', 'elf', 'error', 'Module ELF class (32/64-bit) matches the target'),
  R('arch.endianness', 'elf', 'error', 'Module byte order matches the target'),
  R('compression.unsupported', 'compression', 'info', 'Target kernel can decompress the module itself'),
  R('compression.xz-check', 'compression', 'error', 'xz integrity check is one the kernel decoder accepts (CRC32/none)'),
  R('compression.xz-streams', 'compression', 'error', 'xz file is a single stream'),
  R('signature.missing', 'signature', 'error', 'Module is signed where the target requires signatures'),
  R('signature.invalid', 'signature', 'error', 'Module signature is well-formed and verifies'),
  R('signature.untrusted', 'signature', 'error', 'Module is signed with a key the target trusts'),
  R('vermagic.mismatch', 'vermagic', 'error', "Module vermagic matches the target kernel's"),
  R('vermagic.missing', 'vermagic', 'error', 'Module has a vermagic'),
  R('modversions.missing', 'modversions', 'error', 'Module carries symbol versions for a MODVERSIONS kernel'),
  R('this-module.size', 'this-module', 'error', "struct module size matches the target kernel's"),
  R('symbol.unknown', 'symbols', 'error', 'Imported symbols are exported by the target kernel or its modules'),
  R('symbol.crc-mismatch', 'symbols', 'error', "Imported symbol CRCs match the target's exports"),
  R('symbol.no-crc', 'symbols', 'warning', 'Every imported symbol has a version entry'),
  R('symbol.gpl-only', 'symbols', 'error', 'GPL-only symbols are only used by GPL-compatible modules'),
  R('namespace.missing-import', 'symbols', 'error', 'Namespaced symbols are imported with MODULE_IMPORT_NS'),
  R('exports.duplicate', 'exports', 'error', 'Module exports no symbol the kernel already exports'),
  R('depends.missing', 'depends', 'error', 'Modules listed in depends= exist on the target'),
  R('param.unknown', 'params', 'warning', 'Given parameters exist in the module'),
  R('param.missing-value', 'params', 'error', 'Parameters that need a value have one'),
  R('param.type', 'params', 'error', "Parameter values parse as the parameter's type"),
  R('param.array-count', 'params', 'error', 'Array parameters get no more elements than they hold'),
  R('param.too-long', 'params', 'error', 'String parameter values fit'),
  R('param.quoting', 'params', 'error', "Parameter values survive the kernel's argument splitting"),
  R('taint.proprietary', 'taints', 'warning', 'Module does not taint the kernel P (proprietary)'),
  R('taint.out-of-tree', 'taints', 'info', 'Module does not taint the kernel O (out-of-tree)'),
  R('taint.staging', 'taints', 'warning', 'Module does not taint the kernel C (staging)'),
  R('taint.test', 'taints', 'warning', 'Module does not taint the kernel N (test)'),
  R('taint.unsigned', 'taints', 'warning', 'Module does not taint the kernel E (unsigned)'),
  R('taint.livepatch', 'taints', 'warning', 'Module does not taint the kernel K (livepatch)'),
  R('livepatch.unsupported', 'taints', 'error', 'Livepatch modules only go to kernels with CONFIG_LIVEPATCH'),
  R('module.already-loaded', 'loaded', 'warning', 'A module of the same name is not already loaded'),
];

export const RULE_BY_ID: ReadonlyMap<string, RuleInfo> = new Map(RULES.map((r) => [r.id, r]));

export function rule(id: string): RuleInfo {
  const r = RULE_BY_ID.get(id);
  if (!r) throw new Error(`internal: unknown rule id ${id}`);
  return r;
}

type Extras = Partial<Pick<Finding, 'symbol' | 'field' | 'hint' | 'errno' | 'detail'>>;

function make(id: string, status: FindingStatus, message: string, extras: Extras & { severity?: Severity }, severity?: Severity, skip?: 'severity'): Finding {
  const r = rule(id);
  const out: Record<string, unknown> = { id, check: r.check, severity: severity ?? r.severity, status, message };
  for (const k in extras) {
    if (k === skip) continue;
    const v = extras[k as keyof Extras];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as Finding;
}

export function failed(id: string, message: string, extras: Extras & { severity?: Severity } = {}): Finding {
  return make(id, 'failed', message, extras, extras.severity, 'severity');
}

export function passed(id: string, message: string, extras: Extras = {}): Finding {
  return make(id, 'passed', message, extras);
}

export function skipped(id: string, reason: string, extras: Extras = {}): Finding {
  return make(id, 'skipped', reason, extras);
}

/** Whether a finding makes the kernel refuse the module. */
export function isBlocking(f: Finding): boolean {
  return f.status === 'failed' && f.severity === 'error';
}

export interface FindingCounts {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  readonly passed: number;
  readonly skipped: number;
}

export function countFindings(findings: readonly Finding[]): FindingCounts {
  let errors = 0, warnings = 0, infos = 0, pass = 0, skip = 0;
  for (const f of findings) {
    if (f.status === 'passed') pass++;
    else if (f.status === 'skipped') skip++;
    else if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else infos++;
  }
  return { errors, warnings, infos, passed: pass, skipped: skip };
}
