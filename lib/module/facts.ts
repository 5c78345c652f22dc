/**
 * Module facts: what whole-tree work (check's companions, depmod) needs of a
 * module, decoded once so the image can be let go, and an index over many
 * modules' facts (a name set and a symbol → exporters map).
 *
 * The symbol-level facts (symbolFacts) are read in one pass over the symbol
 * table through lib/elf's reader; depmod's view of a module (kmod's rules for
 * which symbols are exports and dependencies) is a projection of them in
 * lib/depmod/facts.ts, check's view is moduleFacts below.
 *
 * Pure: works on a parsed KernelModule, no file system.
 */
import { byteString, type ByteStringTable } from '../bytes/reader.js';
import { EM, SHN_UNDEF, STT_SPARC_REGISTER } from '../elf/constants.js';
import { findSymtab, readSymbolTable, type SymbolTable } from '../elf/symbols.js';
import { section, symbolTable, type ElfFile } from '../elf/file.js';
import { crcSymbolValue } from './versions.js';
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

/** An undefined symbol: a name the module needs resolved. */
export interface UndefinedSymbol {
  /** The name, one char per byte (byteString). */
  readonly name: string;
  /** STB_* (st_info >> 4). */
  readonly bind: number;
}

/** A `__crc_NAME` symbol: the CRC the module records for NAME (≤ 5.18 modversions). */
export interface CrcSymbol {
  /** NAME (after `__crc_`), one char per byte. */
  readonly name: string;
  /** The CRC (crcSymbolValue); undefined when it lies outside its section. */
  readonly crc: bigint | undefined;
}

/** What one pass over a module's symbol table finds. */
export interface SymbolFacts {
  /** Named undefined symbols in table order, SPARC register symbols left out (libkmod, the kernel). */
  readonly undefined: readonly UndefinedSymbol[];
  /** `__crc_*` symbols in table order, whatever their section (libkmod counts undefined ones too). */
  readonly crcs: readonly CrcSymbol[];
  /** Some entry's st_name lies outside the string table. */
  readonly badName: boolean;
  /** An entry that would be an undefined symbol has its st_name outside the string table. */
  readonly badUndefinedName: boolean;
}

const CRC_PREFIX = [0x5f, 0x5f, 0x63, 0x72, 0x63, 0x5f]; // "__crc_"

/**
 * The symbol table as libkmod locates it: the sections named .symtab and
 * .strtab (the same as SHT_SYMTAB and its sh_link in every module a
 * toolchain writes; then the ELF file's cached table is used). Null when
 * either is missing or the table cannot be read.
 */
function namedSymbolTable(elf: ElfFile): SymbolTable | null {
  const symtab = section(elf, '.symtab');
  const strtab = section(elf, '.strtab');
  if (!symtab || !strtab) return null;
  try {
    if (findSymtab(elf.sections) === symtab && symtab.link === strtab.index) return symbolTable(elf);
    return readSymbolTable(elf.source, elf.header, elf.sections, symtab, strtab);
  } catch (e) {
    if (e instanceof KmodkitError) return null;
    throw e;
  }
}

/**
 * One pass over the symbol table (the sections named .symtab and .strtab):
 * its undefined symbols and its `__crc_*` symbols. Null when the module has
 * no readable symbol table. Only those names are decoded, through `names`
 * when given (one string per distinct name across modules).
 */
export function symbolFacts(elf: ElfFile, names?: ByteStringTable): SymbolFacts | null {
  const st = namedSymbolTable(elf);
  if (!st) return null;
  const strings = st.strings;
  const sparc = elf.header.machine === EM.SPARC || elf.header.machine === EM.SPARCV9;
  const undefinedSymbols: UndefinedSymbol[] = [];
  const crcs: CrcSymbol[] = [];
  let badName = false;
  let badUndefinedName = false;
  for (let i = 1; i < st.count; i++) {
    const off = st.nameOffsetAt(i);
    const shndx = st.shndxAt(i);
    const info = st.infoAt(i);
    const needed = shndx === SHN_UNDEF && !(sparc && (info & 0xf) === STT_SPARC_REGISTER);
    if (off >= strings.length) {
      badName = true;
      if (needed) badUndefinedName = true;
      continue;
    }
    let end = -1;
    let k = 0;
    while (k < 6 && strings[off + k] === CRC_PREFIX[k]) k++;
    if (k === 6) {
      end = nulAfter(strings, off);
      crcs.push({ name: names ? names.intern(strings, off + 6, end) : byteString(strings.subarray(off + 6, end)), crc: crcSymbolValue(elf, shndx, st.valueBigAt(i)) });
    }
    if (needed && strings[off] !== 0) {
      if (end < 0) end = nulAfter(strings, off);
      undefinedSymbols.push({ name: names ? names.intern(strings, off, end) : byteString(strings.subarray(off, end)), bind: info >> 4 });
    }
  }
  return { undefined: undefinedSymbols, crcs, badName, badUndefinedName };
}

/** Index of the NUL ending the string at `off`, or the table's end for an unterminated one. */
function nulAfter(strings: Uint8Array, off: number): number {
  const nul = strings.indexOf(0, off);
  return nul < 0 ? strings.length : nul;
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
