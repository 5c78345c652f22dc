/**
 * The symbol table (Elf32_Sym / Elf64_Sym) and its string table.
 */
import { bytesOf, cstring, cstringBytes } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { SHT_SYMTAB } from './constants.js';
import { ELF_STRUCTS, field, fieldBig } from './structs.js';
import type { ElfHeader } from './header.js';
import { sectionData, type ElfSection } from './sections.js';

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STB_* (st_info >> 4) */
  readonly bind: number;
  /** STT_* (st_info & 0xf) */
  readonly type: number;
  readonly other: number;
  /** Section index, or SHN_UNDEF / SHN_ABS / SHN_COMMON. */
  readonly shndx: number;
}

export interface SymbolTable {
  readonly section: ElfSection;
  /** Number of entries, the null entry 0 included. */
  readonly count: number;
  /** Every entry, made on first use (prefer at() and the field readers below to visit a few). */
  readonly symbols: readonly ElfSymbol[];
  /** Entry `index` (the same object symbols[index] is), undefined out of range. */
  at(index: number): ElfSymbol | undefined;
  /** Fields of entry `index` (0 ≤ index < count) read without making its object. */
  nameAt(index: number): string;
  shndxAt(index: number): number;
  /** st_info: bind << 4 | type. */
  infoAt(index: number): number;
  valueAt(index: number): number;
  /** st_value exactly (valueAt reads values above 2^53 as Infinity). */
  valueBigAt(index: number): bigint;
  /** st_name: the name's offset in the string table. */
  nameOffsetAt(index: number): number;
  /**
   * The name's raw bytes (a view of the string table, up to its NUL); null
   * when st_name lies outside the string table or the name is unterminated.
   */
  nameBytesAt(index: number): Uint8Array | null;
  /** The string table's bytes (st_name offsets index into it). */
  readonly strings: Uint8Array;
  /** Symbols by name; the first wins for duplicated (local) names. */
  byName(name: string): ElfSymbol | undefined;
}

function symtabError(message: string): KmodkitError {
  return new KmodkitError('EELFSYMBOL', message, { errno: 'EINVAL' });
}

/** The first SHT_SYMTAB section, or undefined when the module has none. */
export function findSymtab(sections: readonly ElfSection[]): ElfSection | undefined {
  for (let i = 1; i < sections.length; i++) if (sections[i].type === SHT_SYMTAB) return sections[i];
  return undefined;
}

/** st_name's string: '' for 0, out of range or unterminated. */
function nameIn(strtab: Uint8Array, off: number): string {
  return off === 0 ? '' : off < strtab.length ? (cstring(strtab, off) ?? '') : '';
}

/**
 * One symbol table entry. The name is decoded from the string table on first
 * use: a module has thousands of symbols and most callers look at the names
 * of a few (imports: the undefined ones), so decoding every name up front was
 * most of the table's cost. The numeric fields are plain own properties.
 */
class SymtabEntry implements ElfSymbol {
  readonly #strtab: Uint8Array;
  readonly #nameOff: number;
  #name: string | undefined;
  constructor(
    strtab: Uint8Array,
    nameOff: number,
    readonly index: number,
    readonly value: number,
    readonly size: number,
    readonly bind: number,
    readonly type: number,
    readonly other: number,
    readonly shndx: number,
  ) {
    this.#strtab = strtab;
    this.#nameOff = nameOff;
  }
  get name(): string {
    if (this.#name === undefined) {
      this.#name = nameIn(this.#strtab, this.#nameOff);
    }
    return this.#name;
  }
  /** The same fields, in the same order, as a plain object (what JSON.stringify of one printed). */
  toJSON(): Record<string, number | string> {
    return { index: this.index, name: this.name, value: this.value, size: this.size, bind: this.bind, type: this.type, other: this.other, shndx: this.shndx };
  }
}

/** Symbol table entries accepted: 40 times amdgpu's (26,032), so the work on a table stays proportional to a real module's. */
export const MAX_SYMBOLS = 1 << 20;

/**
 * The symbol table `symtab` with its string table: the section sh_link names,
 * or `strtab` when the caller locates it otherwise (libkmod takes the sections
 * named .symtab and .strtab).
 */
export function readSymbolTable(
  src: ByteSource, header: ElfHeader, sections: readonly ElfSection[], symtab: ElfSection, strtab?: ElfSection,
): SymbolTable {
  const S = ELF_STRUCTS[header.class].Sym;
  const symSize = S.sizeof;
  if (!strtab) {
    if (symtab.link === 0 || symtab.link >= sections.length) {
      throw symtabError(`symbol table's string table index ${symtab.link} is out of range`);
    }
    strtab = sections[symtab.link];
  }
  const strings = sectionData(src, strtab);
  const data = sectionData(src, symtab);
  if (data.length % symSize !== 0) {
    throw symtabError(`symbol table size ${data.length} is not a multiple of ${symSize}`);
  }
  // Every field lies inside the entry (count * sizeof = data.length), so the
  // struct-table reads below never fail. Entries are made on demand: a module
  // has thousands of symbols and a caller typically wants the undefined ones
  // (imports) or a few by index (relocations), so making every object up
  // front was most of the cost; the field readers visit without objects.
  const b = bytesOf(data, header.le);
  const count = data.length / symSize;
  if (count > MAX_SYMBOLS) throw symtabError(`symbol table has ${count} entries, more than kmodkit's limit of ${MAX_SYMBOLS} (the largest real module, amdgpu, has about 26,000)`);
  const made: (ElfSymbol | undefined)[] = new Array(count);
  let all = false;
  const nameOffsetAt = (i: number) => field(b, i * symSize, S.st_name);
  const at = (i: number): ElfSymbol | undefined => {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) return undefined;
    let s = made[i];
    if (!s) {
      const o = i * symSize;
      const info = field(b, o, S.st_info);
      s = made[i] = new SymtabEntry(
        strings, field(b, o, S.st_name), i, field(b, o, S.st_value), field(b, o, S.st_size),
        info >> 4, info & 0xf, field(b, o, S.st_other), field(b, o, S.st_shndx),
      );
    }
    return s;
  };
  let index: Map<string, ElfSymbol> | undefined;
  const table: SymbolTable = {
    section: symtab,
    count,
    strings,
    get symbols(): readonly ElfSymbol[] {
      if (!all) {
        for (let i = 0; i < count; i++) at(i);
        all = true;
      }
      return made as ElfSymbol[];
    },
    at,
    nameAt: (i) => made[i]?.name ?? nameIn(strings, nameOffsetAt(i)),
    nameOffsetAt,
    nameBytesAt: (i) => cstringBytes(strings, nameOffsetAt(i)),
    shndxAt: (i) => field(b, i * symSize, S.st_shndx),
    infoAt: (i) => field(b, i * symSize, S.st_info),
    valueAt: (i) => field(b, i * symSize, S.st_value),
    valueBigAt: (i) => fieldBig(b, i * symSize, S.st_value),
    byName(name: string) {
      if (!index) {
        index = new Map();
        for (const s of table.symbols) if (s.name && !index.has(s.name)) index.set(s.name, s);
      }
      return index.get(name);
    },
  };
  return table;
}
