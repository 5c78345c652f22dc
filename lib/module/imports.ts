/**
 * Symbols a module imports: the undefined GLOBAL/WEAK symbols of `.symtab`
 * (the rule of libkmod's dependency-symbol scan and the kernel's
 * simplify_symbols), each with the CRC the module recorded for it.
 *
 * Each name is listed once (the linker never leaves two undefined entries
 * for one name; a table that repeats one millions of times describes one
 * import, not millions), GLOBAL when any copy is, and at most MAX_IMPORTS
 * distinct names are accepted ('EELFSYMBOL' beyond): the work and the
 * output stay proportional to what the module really needs.
 */
import { STB_GLOBAL, STB_WEAK } from '../elf/constants.js';
import { KmodkitError } from '../errors.js';
import { symbolTable, type ElfFile } from '../elf/file.js';
import { scanSymbols } from './symbol-facts.js';
import { effectiveModversions, type ModversionInfo } from './versions.js';

export interface ModuleImport {
  readonly name: string;
  readonly weak: boolean;
  /** CRC from the extended table when the module has one, else from __versions. */
  readonly crc?: number;
  /** Which table the CRC came from. */
  readonly crcSource?: 'basic' | 'extended';
}

/** Distinct imported names accepted (the largest real module imports a few thousand). */
export const MAX_IMPORTS = 65_536;

function byName(list: readonly ModversionInfo[] | null): Map<string, ModversionInfo> | null {
  if (!list) return null;
  const m = new Map<string, ModversionInfo>();
  for (const v of list) if (!m.has(v.name)) m.set(v.name, v);
  return m;
}

/**
 * Undefined symbols in symbol-table order; [] when the module has no symbol table.
 * `versions` gives the module's symbol versions when the caller decodes them too
 * (default: effectiveModversions, asked only when there is a symbol table).
 */
export function moduleImports(elf: ElfFile, versions: () => readonly ModversionInfo[] | null = () => effectiveModversions(elf)): ModuleImport[] {
  const st = symbolTable(elf);
  if (!st) return [];
  // The kernel relies on the extended table alone when it exists (effectiveModversions).
  const crcs = byName(versions());
  const out: ModuleImport[] = [];
  const at = new Map<string, number>();
  for (const { name, bind } of scanSymbols(elf, st, { text: true, crcs: false }).undefined) {
    if (bind !== STB_GLOBAL && bind !== STB_WEAK) continue;
    const seen = at.get(name);
    if (seen !== undefined) {
      // one import per name; GLOBAL wins over WEAK (the kernel refuses an unresolved GLOBAL copy)
      if (bind === STB_GLOBAL && out[seen].weak) out[seen] = { ...out[seen], weak: false };
      continue;
    }
    if (out.length === MAX_IMPORTS) {
      throw new KmodkitError('EELFSYMBOL', `more than ${MAX_IMPORTS} distinct undefined symbols (kmodkit's limit; real modules import a few thousand at most)`, { detail: { limit: MAX_IMPORTS } });
    }
    at.set(name, out.length);
    // ppc64 ELFv1 dot-symbols: versions are recorded without the dot.
    const v = crcs?.get(name) ?? (name[0] === '.' ? crcs?.get(name.slice(1)) : undefined);
    out.push(v ? { name, weak: bind === STB_WEAK, crc: v.crc, crcSource: v.source } : { name, weak: bind === STB_WEAK });
  }
  return out;
}
