/**
 * Symbol resolution as load_module() does it (simplify_symbols →
 * resolve_symbol → check_version, and check_modstruct_version first):
 * every undefined non-weak symbol must be exported by the kernel image or a
 * module, with an equal CRC when both sides carry one, GPL-only exports only
 * for GPL-compatible modules, and namespaced exports only when imported.
 */
import { EM } from '../../elf/constants.js';
import { moduleImports, type ModuleImport } from '../../module/imports.js';
import { moduleExportsOf } from '../../module/exports.js';
import { exporterOf, type ModuleFactsIndex } from '../../module/facts.js';
import { effectiveModversions, type ModversionInfo } from '../../module/versions.js';
import { once, type Once } from '../../once.js';
import { moduleLicense, type LicenseInfo } from '../../module/license.js';
import { modinfoValues } from '../../module/modinfo.js';
import { hex32 } from '../../bytes/reader.js';
import { isVmlinux, symversModuleName } from '../symvers.js';
import { targetModversions, targetOption, type TargetExport, type TargetKernel } from '../target.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext, NeedsCompanions } from './context.js';

/** Undefined symbols the arch module loaders resolve themselves. */
function archInternal(machine: number, name: string): boolean {
  if (name === '_GLOBAL_OFFSET_TABLE_') return machine === EM.X86_64 || machine === EM.I386;
  if (name === '.TOC.' || name === 'TOC.') return machine === EM.PPC64;
  if (name === '_gp_disp' || name === '__gnu_local_gp') return machine === EM.MIPS;
  return false;
}

function crcText(v: number): string {
  return hex32(v);
}

/** Module names as the kernel compares them (mod_strncmp): '-' and '_' are the same character. */
function modnameKey(s: string): string {
  return s.replace(/-/g, '_');
}

/**
 * Whether a namespace is imported (import_ns=), or is 6.16's "module:a,b,pre*"
 * namespace naming this module. As the kernel's verify_module_namespace: each
 * comma-separated entry matches the whole module name, or with a trailing '*'
 * its prefix ('*' elsewhere is a plain character), '-' equal to '_'.
 */
export function namespaceOk(ns: string, imported: readonly string[], modname: string): boolean {
  if (imported.includes(ns)) return true;
  if (!ns.startsWith('module:')) return false;
  const mod = modnameKey(modname);
  return ns
    .slice('module:'.length)
    .split(',')
    .some((entry) => {
      if (entry === '') return false;
      const glob = entry.endsWith('*');
      const want = modnameKey(glob ? entry.slice(0, -1) : entry);
      return glob ? mod.startsWith(want) : mod === want;
    });
}

/** A lookup that needs the modules checked alongside, before they are known. */
const NEEDS_COMPANIONS = Symbol('needs the modules checked alongside');
type Lookup = TargetExport | undefined | typeof NEEDS_COMPANIONS;

/**
 * The symbol in Module.symvers or a companion: no I/O, so no await per import.
 * Without the companions (not known yet), a symbol Module.symvers lacks is
 * NEEDS_COMPANIONS.
 */
function lookupKnown(t: TargetKernel, companions: (() => ModuleFactsIndex) | undefined, self: string, name: string): Lookup {
  // Plain fields, undefined where the exporter has none (only read below, never serialized).
  const s = t.symvers?.bySymbol.get(name);
  if (s) {
    const owner = isVmlinux(s.module) ? 'vmlinux' : symversModuleName(s.module);
    return { name, crc: t.symvers!.hasCrcs ? s.crc : undefined, gplOnly: s.gplOnly, namespace: s.namespace || undefined, owner, source: 'symvers' };
  }
  if (!companions) return NEEDS_COMPANIONS;
  const c = exporterOf(companions(), name, self);
  if (c) {
    const x = c.export;
    return { name, crc: x.crc, gplOnly: x.gplOnly, namespace: x.namespace || undefined, owner: c.owner, source: 'companion' };
  }
  return undefined;
}

/** Synchronous when the symbol is known without I/O (the common case: no promise per import). */
function lookup(t: TargetKernel, companions: (() => ModuleFactsIndex) | undefined, self: string, name: string): Lookup | Promise<TargetExport | undefined> {
  const known = lookupKnown(t, companions, self, name);
  if (known || !t.modules) return known;
  return lookupInTree(t.modules, name);
}

async function lookupInTree(modules: NonNullable<TargetKernel['modules']>, name: string): Promise<TargetExport | undefined> {
  const list = await modules.exportsOf(name);
  if (list.length) return list.find((x) => x.source === 'module') ?? list[0];
  return undefined;
}

/** What symbol resolution needs of the module: plain data, decoded before the image is let go. */
export interface ModuleSide {
  readonly name: string;
  readonly machine: number;
  readonly imports: readonly ModuleImport[];
  /** The module's symbol versions: how many, and module_layout's CRC (not the records: they hold bytes of the image). */
  readonly versions: { readonly count: number; readonly moduleLayoutCrc?: number } | null;
  readonly license: LicenseInfo | undefined;
  readonly importedNs: readonly string[];
}

export function checkSymbols(ctx: CheckContext): Finding[] | Promise<Finding[] | NeedsCompanions<ModuleSide>> {
  const t = ctx.target;
  const elf = ctx.mod.elf;
  // __versions is decoded once, for the imports' CRCs and for the counts below
  const memo: { versions?: Once<ModversionInfo[] | null> } = {};
  const versions = () => once(memo, 'versions', () => effectiveModversions(elf));
  const imports: ModuleImport[] = moduleImports(elf, versions);
  if (!t.symvers) {
    const why = t.missing.symvers ?? 'no Module.symvers';
    return [
      skipped('symbol.unknown', `cannot tell which symbols the target kernel exports: ${why}`, { hint: `pass ${ctx.input('symversPath')} (Module.symvers of the target kernel)`, missing: ['symvers'] }),
      skipped('symbol.crc-mismatch', `no target symbol versions: ${why}`, { missing: ['symvers'] }),
      skipped('symbol.gpl-only', `no target export types: ${why}`, { missing: ['symvers'] }),
      skipped('namespace.missing-import', `no target export namespaces: ${why}`, { missing: ['symvers'] }),
    ];
  }
  const m: ModuleSide = {
    name: ctx.name,
    machine: elf.header.machine,
    imports,
    versions: versionsSummary(versions()),
    license: ctx.modinfo ? moduleLicense(ctx.modinfo) : undefined,
    importedNs: ctx.modinfo ? modinfoValues(ctx.modinfo, 'import_ns') : [],
  };
  return resolveNow(t, t.symvers, m);
}

/**
 * Resolve now when the companions are not needed (every import is in
 * Module.symvers, which lookupKnown looks in first: a tree checked against
 * its own kernel), keeping nothing for later; else what is left for them.
 * The first question for the companions comes before any await (lookupInTree
 * is only tried after them), so stopping there leaves nothing half done.
 */
async function resolveNow(t: TargetKernel, symvers: NonNullable<TargetKernel['symvers']>, m: ModuleSide): Promise<Finding[] | NeedsCompanions<ModuleSide>> {
  const r = await resolveImports(t, symvers, m, undefined);
  return r === NEEDS_COMPANIONS ? { needs: 'companions', state: m } : r;
}

/** The rest of the symbols check, once the modules checked alongside are known. */
export async function finishSymbols(t: TargetKernel, m: ModuleSide, companions: () => ModuleFactsIndex): Promise<Finding[]> {
  if (!t.symvers) throw new Error('internal: the symbols check needs no companions without Module.symvers');
  const r = await resolveImports(t, t.symvers, m, companions);
  if (r === NEEDS_COMPANIONS) throw new Error('internal: companions given, yet needed');
  return r;
}

/** The name an import is looked up by: ppc64 ELFv1 dot-symbols without the dot. */
function importedName(machine: number, name: string): string {
  return machine === EM.PPC64 && name.startsWith('.') ? name.slice(1) : name;
}

function versionsSummary(versions: readonly ModversionInfo[] | null): ModuleSide['versions'] {
  if (!versions) return null;
  const ml = versions.find((v) => v.name === 'module_layout');
  return ml ? { count: versions.length, moduleLayoutCrc: ml.crc } : { count: versions.length };
}

/**
 * The symbols check proper: every import looked up in the target and the
 * companions; NEEDS_COMPANIONS when they are not given and an import is not
 * in Module.symvers.
 */
async function resolveImports(t: TargetKernel, symvers: NonNullable<TargetKernel['symvers']>, m: ModuleSide, companions: (() => ModuleFactsIndex) | undefined): Promise<Finding[] | typeof NEEDS_COMPANIONS> {
  const { imports, versions, license, importedNs } = m;
  const out: Finding[] = [];
  const kernelMv = targetModversions(t) ?? symvers.hasCrcs;
  const gplOk = license?.gplCompatible ?? false;
  const allowMissingNs = targetOption(t, 'MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS') === true;
  const forceLoad = targetOption(t, 'MODULE_FORCE_LOAD') === true;

  // module_layout first (check_modstruct_version): a mismatch is ENOEXEC.
  if (kernelMv && versions) {
    const ml = versions.moduleLayoutCrc;
    const ref = symvers.bySymbol.get('module_layout');
    if (ml !== undefined && ref && symvers.hasCrcs && ml !== ref.crc) {
      out.push(failed('symbol.crc-mismatch', `disagrees about version of symbol module_layout (module ${crcText(ml)}, kernel ${crcText(ref.crc)}): struct module and friends differ`, { symbol: 'module_layout', errno: 'ENOEXEC', detail: { module: crcText(ml), kernel: crcText(ref.crc) }, hint: 'rebuild the module against the target kernel\'s headers' }));
    }
  }
  // A MODVERSIONS kernel and a module without any versions: try_to_force_load().
  let noVersions = false;
  if (kernelMv && symvers.hasCrcs && !versions && imports.some((i) => !i.weak)) {
    noVersions = true;
    if (forceLoad) out.push(failed('modversions.missing', 'module has no symbol versions (__versions) and the target uses modversions: it loads only forced (taints F)', { severity: 'warning', field: '__versions' }));
    else out.push(failed('modversions.missing', 'module has no symbol versions (__versions) and the target uses modversions: "no versions for imported symbols"', { errno: 'ENOEXEC', field: '__versions', hint: 'build with CONFIG_MODVERSIONS like the target kernel' }));
  } else if (kernelMv) out.push(passed('modversions.missing', versions ? `module carries ${versions.count} symbol versions` : 'no versioned imports needed'));
  else out.push(skipped('modversions.missing', 'target kernel does not use modversions'));

  let resolved = 0, fromModules = 0, unknown = 0, crcBad = 0, gplBad = 0, nsBad = 0, noCrc = 0;
  const owners = new Set<string>();
  for (const imp of imports) {
    if (archInternal(m.machine, imp.name)) continue;
    const name = importedName(m.machine, imp.name);
    const found = lookup(t, companions, m.name, name);
    const exp = found instanceof Promise ? await found : found;
    if (exp === NEEDS_COMPANIONS) return NEEDS_COMPANIONS;
    if (!exp) {
      if (imp.weak) continue; // weak references may stay unresolved
      unknown++;
      out.push(failed('symbol.unknown', `Unknown symbol ${name}: exported by neither the target kernel nor a module of it`, { symbol: name, errno: 'ENOENT', hint: 'the module was built for another kernel, or needs a module the target lacks' }));
      continue;
    }
    resolved++;
    if (exp.owner !== 'vmlinux') {
      fromModules++;
      owners.add(exp.owner);
    }
    // GPL-only exports are invisible to non-GPL modules.
    if (exp.gplOnly === true && !gplOk) {
      gplBad++;
      out.push(failed('symbol.gpl-only', `${name} is exported GPL-only (by ${exp.owner}) and the module's license '${license?.effective ?? 'unspecified'}' is not GPL-compatible: "Unknown symbol ${name}"`, { symbol: name, errno: 'ENOENT', hint: 'a non-GPL module cannot use EXPORT_SYMBOL_GPL symbols' }));
    }
    // CRC (check_version)
    if (kernelMv && !noVersions && exp.crc !== undefined) {
      if (imp.crc === undefined) {
        if (versions) {
          noCrc++;
          out.push(failed('symbol.no-crc', `no symbol version for ${name} (the kernel warns and accepts it)`, { symbol: name }));
        }
      } else if (imp.crc !== exp.crc) {
        crcBad++;
        out.push(failed('symbol.crc-mismatch', `disagrees about version of symbol ${name}: module ${crcText(imp.crc)}, ${exp.owner} ${crcText(exp.crc)}`, { symbol: name, errno: 'EINVAL', detail: { module: crcText(imp.crc), target: crcText(exp.crc), exporter: exp.owner }, hint: 'rebuild the module against the target kernel\'s headers and Module.symvers' }));
      }
    }
    // Namespaces
    if (exp.namespace && !namespaceOk(exp.namespace, importedNs, m.name)) {
      nsBad++;
      const msg = `module uses symbol (${name}) from namespace ${exp.namespace}, but does not import it`;
      if (allowMissingNs) out.push(failed('namespace.missing-import', `${msg} (allowed: CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS)`, { symbol: name, severity: 'warning' }));
      else out.push(failed('namespace.missing-import', msg, { symbol: name, errno: 'EINVAL', field: 'import_ns', hint: `add MODULE_IMPORT_NS(${exp.namespace}) to the module` }));
    }
  }
  const n = imports.length;
  const modNote = fromModules ? ` (${fromModules} from ${[...owners].sort().join(', ')})` : '';
  if (!unknown) out.push(passed('symbol.unknown', `all ${resolved} imported symbols are exported by the target${modNote}`, { detail: { imports: n, fromModules: [...owners].sort() } }));
  if (!crcBad) {
    if (!kernelMv) out.push(skipped('symbol.crc-mismatch', 'target kernel does not use modversions'));
    else if (noVersions) out.push(skipped('symbol.crc-mismatch', 'module has no symbol versions'));
    else out.push(passed('symbol.crc-mismatch', 'symbol versions match'));
  }
  if (!gplBad) out.push(passed('symbol.gpl-only', gplOk ? 'module is GPL-compatible' : 'module uses no GPL-only symbol'));
  if (!nsBad) out.push(passed('namespace.missing-import', importedNs.length ? `namespaces imported: ${importedNs.join(', ')}` : 'no namespaced symbols used'));
  if (!noCrc && kernelMv && versions) out.push(passed('symbol.no-crc', 'every imported symbol has a version'));
  return out;
}

/** Own exports already exported by the kernel image: "exports duplicate symbol" (ENOEXEC). */
export function checkExports(ctx: CheckContext): Finding[] {
  const t = ctx.target;
  const exports = moduleExportsOf(ctx.mod);
  if (exports.length === 0) return [passed('exports.duplicate', 'module exports nothing')];
  if (!t.symvers) return [skipped('exports.duplicate', `cannot compare exports: ${t.missing.symvers ?? 'no Module.symvers'}`, { missing: ['symvers'] })];
  const out: Finding[] = [];
  for (const x of exports) {
    const s = t.symvers.bySymbol.get(x.name);
    if (!s) continue;
    const owner = isVmlinux(s.module) ? 'vmlinux' : symversModuleName(s.module);
    if (owner === ctx.name) continue;
    if (owner === 'vmlinux' || t.loadedModules?.has(owner)) {
      out.push(failed('exports.duplicate', `exports duplicate symbol ${x.name} (owned by ${owner === 'vmlinux' ? 'kernel' : owner})`, { symbol: x.name, errno: 'ENOEXEC', hint: 'rename the symbol' }));
    }
  }
  if (!out.length) out.push(passed('exports.duplicate', `none of the ${exports.length} exports clashes with the kernel's`));
  return out;
}
