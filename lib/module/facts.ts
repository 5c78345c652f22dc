/**
 * Module facts: what whole-tree work (check's companions, depmod) needs of a
 * module, decoded once so the image can be let go, and an index over many
 * modules' facts (a name set and a symbol → exporters map).
 *
 * The symbol-level facts are read in one pass over the symbol table through
 * lib/elf's reader (symbol-facts.ts); check's imports (imports.ts) and
 * depmod's view of a module (kmod's rules for which symbols are exports and
 * dependencies, lib/depmod/facts.ts) are projections of that pass.
 *
 * Pure: works on a parsed KernelModule, no file system.
 */
import { KmodkitError } from '../errors.js';
import type { KernelModule } from './module.js';
import { moduleInfo } from './module.js';
import { moduleName } from './layout.js';
import { modinfoDepends, modinfoValue, type ModinfoEntry } from './modinfo.js';
import { moduleExportsOf, type KernelSymbolExport } from './exports.js';
import { moduleImports, type ModuleImport } from './imports.js';

export interface ModuleFacts {
  /** The module's name as struct module (or modinfo name=) gives it; undefined when neither decodes. */
  readonly name: string | undefined;
  /** Exported symbols (__ksymtab*); empty when they cannot be decoded. */
  readonly exports: readonly KernelSymbolExport[];
  /** Undefined symbols the module needs resolved. */
  readonly imports: readonly ModuleImport[];
  /** modinfo depends= (modpost's list of providing modules). */
  readonly depends: readonly string[];
  readonly vermagic: string | undefined;
}

export interface FactsOptions {
  /** Skip the import table (check's companions need only name and exports). */
  imports?: boolean;
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    return fallback;
  }
}

/**
 * Decode a module's facts. Never throws for malformed module content: a part
 * that cannot be decoded is left empty (name and exports together, as a
 * companion that cannot be decoded contributes nothing).
 */
export function moduleFacts(mod: KernelModule, options: FactsOptions = {}): ModuleFacts {
  const modinfo = safe<readonly ModinfoEntry[]>(() => moduleInfo(mod), []);
  let name: string | undefined;
  let exports: readonly KernelSymbolExport[] = [];
  try {
    name = moduleName(mod).name;
    exports = moduleExportsOf(mod);
  } catch {
    /* a module we cannot name contributes nothing as an exporter */
  }
  return {
    name,
    exports,
    imports: options.imports === false ? [] : safe<readonly ModuleImport[]>(() => moduleImports(mod.elf), []),
    depends: modinfoDepends(modinfo),
    vermagic: modinfoValue(modinfo, 'vermagic'),
  };
}


export interface ExportedBy {
  readonly owner: string;
  readonly export: KernelSymbolExport;
}

/** Facts of many modules, indexed. Order is kept: the first exporter wins. */
export interface ModuleFactsIndex {
  /** Names of the indexed modules. */
  readonly names: ReadonlySet<string>;
  /** symbol → every (owner, export) in module order, then export order. */
  readonly symbols: ReadonlyMap<string, readonly ExportedBy[]>;
}

/** Index named modules' facts (unnamed ones contribute nothing). */
export function indexModuleFacts(all: Iterable<ModuleFacts>): ModuleFactsIndex {
  const names = new Set<string>();
  const symbols = new Map<string, ExportedBy[]>();
  for (const f of all) {
    if (!f.name) continue;
    names.add(f.name);
    for (const x of f.exports) {
      const by = { owner: f.name, export: x };
      const list = symbols.get(x.name);
      if (list) list.push(by);
      else symbols.set(x.name, [by]);
    }
  }
  return { names, symbols };
}

/** The first module other than `self` (by name) exporting `symbol`. */
export function exporterOf(index: ModuleFactsIndex, symbol: string, self: string): ExportedBy | undefined {
  const list = index.symbols.get(symbol);
  if (!list) return undefined;
  for (const by of list) if (by.owner !== self) return by;
  return undefined;
}

/** Whether a module other than `self` carries `name`. */
export function hasModuleNamed(index: ModuleFactsIndex, name: string, self: string): boolean {
  return name !== self && index.names.has(name);
}

/** How many distinct names other than `self` the index holds. */
export function otherNameCount(index: ModuleFactsIndex, self: string): number {
  return index.names.size - (index.names.has(self) ? 1 : 0);
}
