/**
 * The one pass over a module's symbol table (lib/elf's reader, fields by the
 * struct table): its undefined symbols and its `__crc_*` symbols. check's
 * imports (imports.ts, the kernel's table: the first SHT_SYMTAB and its
 * sh_link) and depmod's view (lib/depmod/facts.ts, libkmod's table: the
 * sections named .symtab and .strtab) are projections of it.
 */
import { latin1String, decodeText, type ByteStringTable } from '../bytes/reader.js';
import { EM, SHN_UNDEF, STT_SPARC_REGISTER } from '../elf/constants.js';
import { findSymtab, readSymbolTable, type SymbolTable } from '../elf/symbols.js';
import { section, symbolTable, type ElfFile } from '../elf/file.js';
import { KmodkitError } from '../errors.js';
import { crcSymbolValue } from './versions.js';

/** An undefined symbol: a name the module needs resolved. */
export interface UndefinedSymbol {
  /** The name, one char per byte (latin1String), or decoded as text (ScanOptions.text). */
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

/** How scanSymbols makes names. */
export interface ScanOptions {
  /** Byte strings through this table (one string per distinct name across modules); default latin1String per name. */
  readonly names?: ByteStringTable;
  /** Names decoded as text (decodeText: UTF-8 where valid), for what is shown; an unterminated name is left out. */
  readonly text?: boolean;
  /** Look for `__crc_*` symbols (default true). */
  readonly crcs?: boolean;
}

/**
 * libkmod's view (depmod): the sections named .symtab and .strtab; null
 * when the module has no such readable table.
 */
export function symbolFacts(elf: ElfFile, names?: ByteStringTable): SymbolFacts | null {
  const st = namedSymbolTable(elf);
  return st ? scanSymbols(elf, st, { names }) : null;
}

/** One pass over `st`: undefined symbols and (unless crcs: false) `__crc_*` symbols; only those names are decoded. */
export function scanSymbols(elf: ElfFile, st: SymbolTable, options: ScanOptions = {}): SymbolFacts {
  const { names, text } = options;
  const wantCrcs = options.crcs !== false;
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
    if (wantCrcs) {
      let k = 0;
      while (k < 6 && strings[off + k] === CRC_PREFIX[k]) k++;
      if (k === 6) {
        end = nulAfter(strings, off);
        crcs.push({ name: names ? names.intern(strings, off + 6, end) : latin1String(strings.subarray(off + 6, end)), crc: crcSymbolValue(elf, shndx, st.valueBigAt(i)) });
      }
    }
    if (needed && strings[off] !== 0) {
      if (text) {
        const nul = strings.indexOf(0, off);
        if (nul >= 0) undefinedSymbols.push({ name: decodeText(strings.subarray(off, nul)), bind: info >> 4 });
        continue;
      }
      if (end < 0) end = nulAfter(strings, off);
      undefinedSymbols.push({ name: names ? names.intern(strings, off, end) : latin1String(strings.subarray(off, end)), bind: info >> 4 });
    }
  }
  return { undefined: undefinedSymbols, crcs, badName, badUndefinedName };
}

/** Index of the NUL ending the string at `off`, or the table's end for an unterminated one. */
function nulAfter(strings: Uint8Array, off: number): number {
  const nul = strings.indexOf(0, off);
  return nul < 0 ? strings.length : nul;
}
