/**
 * The symbol table (Elf32_Sym / Elf64_Sym) and its string table.
 */
import { bytesOf, cstring } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';
import { SHT_SYMTAB } from './constants.js';
import { ELF_STRUCTS, field } from './structs.js';
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
  readonly symbols: readonly ElfSymbol[];
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

export function readSymbolTable(src: ByteSource, header: ElfHeader, sections: readonly ElfSection[], symtab: ElfSection): SymbolTable {
  const S = ELF_STRUCTS[header.class].Sym;
  const symSize = S.sizeof;
  if (symtab.link === 0 || symtab.link >= sections.length) {
    throw symtabError(`symbol table's string table index ${symtab.link} is out of range`);
  }
  const strtab = sectionData(src, sections[symtab.link]);
  const data = sectionData(src, symtab);
  if (data.length % symSize !== 0) {
    throw symtabError(`symbol table size ${data.length} is not a multiple of ${symSize}`);
  }
  const b = bytesOf(data, header.le);
  const count = data.length / symSize;
  const symbols: ElfSymbol[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * symSize;
    const nameOff = field(b, o, S.st_name);
    const name = nameOff === 0 ? '' : nameOff < strtab.length ? (cstring(strtab, nameOff) ?? '') : '';
    const info = field(b, o, S.st_info);
    symbols[i] = {
      index: i, name, value: field(b, o, S.st_value), size: field(b, o, S.st_size),
      bind: info >> 4, type: info & 0xf, other: field(b, o, S.st_other), shndx: field(b, o, S.st_shndx),
    };
  }
  let index: Map<string, ElfSymbol> | undefined;
  return {
    section: symtab,
    symbols,
    byName(name: string) {
      if (!index) {
        index = new Map();
        for (const s of symbols) if (s.name && !index.has(s.name)) index.set(s.name, s);
      }
      return index.get(name);
    },
  };
}
